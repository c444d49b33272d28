/* py1e's draws in C: numpy's PCG64, stepped here, making numpy's calls in numpy's order.
 *
 * numpy's `Generator.shuffle` of a 1-D array is a Fisher-Yates loop: for i from n - 1 down to
 * 1, j = random_interval(i), swap items i and j. random_interval draws 32-bit values, masked to
 * the smallest all-ones mask covering i, until one is at most i. `Generator.integers(low, high)`
 * for one int64 uses Lemire's method on 32-bit values when the range fits, and
 * `uniform(a, b, n)` takes one 64-bit value per item. PCG64 hands out the two halves of a
 * 64-bit output as two 32-bit values (low half first; `has_uint32` and `uinteger` hold the
 * waiting high half), and 64-bit draws leave a waiting half alone.
 *
 * Each function takes the generator's state as numpy's `PCG64.state` holds it (the 128-bit
 * state and increment as 64-bit halves, has_uint32, uinteger), makes the draws, and returns the
 * new state for the caller to set (`draws.py`). The results, and the state, are numpy's: the
 * tests compare both against numpy for every function.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef __uint128_t u128;

typedef struct {
    u128 state, inc;
    int has_uint32;
    uint32_t uinteger;
} pcg_t;

#define MULT ((((u128)2549297995355413924ULL) << 64) | (u128)4865540595714422341ULL)

static inline uint64_t next64(pcg_t *g) {
    g->state = g->state * MULT + g->inc;
    uint64_t hi = (uint64_t)(g->state >> 64), lo = (uint64_t)g->state;
    unsigned rot = (unsigned)(g->state >> 122);
    uint64_t x = hi ^ lo;
    return (x >> rot) | (x << ((-rot) & 63));
}

static inline uint32_t next32(pcg_t *g) {
    if (g->has_uint32) {
        g->has_uint32 = 0;
        return g->uinteger;
    }
    uint64_t next = next64(g);
    g->has_uint32 = 1;
    g->uinteger = (uint32_t)(next >> 32);
    return (uint32_t)next;
}

/* The state after `delta` more 64-bit outputs (Brown's jump-ahead for an LCG, as numpy's
 * pcg64_advance). */
static void advance(pcg_t *g, uint64_t delta) {
    u128 acc_mult = 1, acc_plus = 0, cur_mult = MULT, cur_plus = g->inc;
    while (delta > 0) {
        if (delta & 1) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    g->state = acc_mult * g->state + acc_plus;
}

/* numpy's random_interval for max < 2**32. */
static inline uint32_t interval32(pcg_t *g, uint32_t max) {
    uint32_t mask = max, value;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    while ((value = (next32(g) & mask)) > max) {
    }
    return value;
}

/* numpy's buffered_bounded_lemire_uint32: a value in [0, rng], rng < 2**32 - 1. */
static inline uint32_t lemire32(pcg_t *g, uint32_t rng) {
    const uint32_t rng_excl = rng + 1;
    uint64_t m = (uint64_t)next32(g) * rng_excl;
    uint32_t leftover = (uint32_t)m;
    if (leftover < rng_excl) {
        const uint32_t threshold = (UINT32_MAX - rng) % rng_excl;
        while (leftover < threshold) {
            m = (uint64_t)next32(g) * rng_excl;
            leftover = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Parse "(state_lo, state_hi, inc_lo, inc_hi, has_uint32, uinteger)". */
static int get_pcg(PyObject *tuple, pcg_t *g) {
    unsigned long long s_lo, s_hi, i_lo, i_hi;
    unsigned int uinteger;
    int has;
    if (!PyArg_ParseTuple(tuple, "KKKKpI", &s_lo, &s_hi, &i_lo, &i_hi, &has, &uinteger))
        return -1;
    g->state = ((u128)s_hi << 64) | s_lo;
    g->inc = ((u128)i_hi << 64) | i_lo;
    g->has_uint32 = has;
    g->uinteger = uinteger;
    return 0;
}

static PyObject *pcg_tuple(const pcg_t *g) {
    return Py_BuildValue("(KKKKiI)", (unsigned long long)g->state,
                         (unsigned long long)(g->state >> 64), (unsigned long long)g->inc,
                         (unsigned long long)(g->inc >> 64), g->has_uint32, g->uinteger);
}

static int get_sizes(PyObject *obj, Py_buffer *view) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != 8 || view->ndim != 1 || view->format[0] == 'd') {
        PyErr_SetString(PyExc_TypeError, "sizes must be a 1-D int64 array");
        PyBuffer_Release(view);
        return -1;
    }
    const int64_t *sizes = (const int64_t *)view->buf;
    for (Py_ssize_t k = 0; k < view->shape[0]; k++) {
        if (sizes[k] < 0 || sizes[k] > (int64_t)UINT32_MAX) {
            PyErr_Format(PyExc_ValueError, "sizes[%zd] = %lld is out of range", k,
                         (long long)sizes[k]);
            PyBuffer_Release(view);
            return -1;
        }
    }
    return 0;
}

#define SHUFFLE_LOOP(T)                                      \
    do {                                                     \
        T *a = (T *)array.buf;                               \
        for (Py_ssize_t k = 0; k < count; k++) {             \
            for (int64_t i = sizes[k] - 1; i > 0; i--) {     \
                uint32_t j = interval32(&g, (uint32_t)i);    \
                T t = a[j];                                  \
                a[j] = a[i];                                 \
                a[i] = t;                                    \
            }                                                \
            a += sizes[k];                                   \
        }                                                    \
    } while (0)

/* shuffle_segments(state, array, sizes) -> state: rng.shuffle of each consecutive segment of
 * a 1-D array of 4- or 8-byte items, in place. */
static PyObject *shuffle_segments(PyObject *self, PyObject *args) {
    PyObject *state, *array_obj, *sizes_obj;
    pcg_t g;
    if (!PyArg_ParseTuple(args, "OOO", &state, &array_obj, &sizes_obj)) return NULL;
    if (get_pcg(state, &g) < 0) return NULL;
    Py_buffer array, view;
    if (PyObject_GetBuffer(array_obj, &array, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return NULL;
    if (get_sizes(sizes_obj, &view) < 0) {
        PyBuffer_Release(&array);
        return NULL;
    }
    const int64_t *sizes = (const int64_t *)view.buf;
    Py_ssize_t count = view.shape[0];
    int64_t total = 0;
    for (Py_ssize_t k = 0; k < count; k++) total += sizes[k];
    if ((array.itemsize != 4 && array.itemsize != 8) || total * array.itemsize > array.len) {
        PyErr_Format(PyExc_ValueError,
                     "shuffle_segments needs an array of 4- or 8-byte items holding the "
                     "%lld items of the segments (got %zd bytes of %zd-byte items)",
                     (long long)total, array.len, array.itemsize);
        PyBuffer_Release(&array);
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS;
    if (array.itemsize == 4)
        SHUFFLE_LOOP(int32_t);
    else
        SHUFFLE_LOOP(int64_t);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&array);
    PyBuffer_Release(&view);
    return pcg_tuple(&g);
}

/* skip_shuffles(state, sizes) -> state: the draws of shuffle_segments, without an array. */
static PyObject *skip_shuffles(PyObject *self, PyObject *args) {
    PyObject *state, *sizes_obj;
    pcg_t g;
    if (!PyArg_ParseTuple(args, "OO", &state, &sizes_obj)) return NULL;
    if (get_pcg(state, &g) < 0) return NULL;
    Py_buffer view;
    if (get_sizes(sizes_obj, &view) < 0) return NULL;
    const int64_t *sizes = (const int64_t *)view.buf;
    Py_ssize_t count = view.shape[0];
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t k = 0; k < count; k++)
        for (int64_t i = sizes[k] - 1; i > 0; i--) interval32(&g, (uint32_t)i);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&view);
    return pcg_tuple(&g);
}

/* skip_positions(state, sizes, low, high) -> (state, clipped): the draws of py1e's
 * draw_positions (for each span, integers(low, high), then one 64-bit value per sample),
 * without the positions; `clipped` tells whether some span was larger than its window. */
static PyObject *skip_positions(PyObject *self, PyObject *args) {
    PyObject *state, *sizes_obj;
    long long low, high;
    pcg_t g;
    if (!PyArg_ParseTuple(args, "OOLL", &state, &sizes_obj, &low, &high)) return NULL;
    if (get_pcg(state, &g) < 0) return NULL;
    if (high <= low || high - low - 1 >= (long long)UINT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "skip_positions needs low < high < low + 2**32, got %lld and %lld", low,
                     high);
        return NULL;
    }
    Py_buffer view;
    if (get_sizes(sizes_obj, &view) < 0) return NULL;
    const int64_t *sizes = (const int64_t *)view.buf;
    const uint32_t rng = (uint32_t)(high - low - 1);
    int clipped = 0;
    for (Py_ssize_t k = 0; k < view.shape[0]; k++) {
        long long window = low + (rng ? (long long)lemire32(&g, rng) : 0);
        if (window < sizes[k]) clipped = 1;
        advance(&g, (uint64_t)sizes[k]);
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NN)", pcg_tuple(&g), PyBool_FromLong(clipped));
}

static PyMethodDef methods[] = {
    {"shuffle_segments", shuffle_segments, METH_VARARGS,
     "shuffle_segments(state, array, sizes) -> state: rng.shuffle of each segment."},
    {"skip_shuffles", skip_shuffles, METH_VARARGS,
     "skip_shuffles(state, sizes) -> state: the draws of shuffle_segments."},
    {"skip_positions", skip_positions, METH_VARARGS,
     "skip_positions(state, sizes, low, high) -> (state, clipped): py1e's position draws."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_draws", NULL, -1, methods};

PyMODINIT_FUNC PyInit__draws(void) { return PyModule_Create(&module); }
