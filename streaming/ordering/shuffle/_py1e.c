/* py1e's hot loops in C: its draws (numpy's PCG64, stepped here, making numpy's calls in
 * numpy's order) and the sort of one window of positions (`sort_window`, at the end).
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
 * tests compare both against numpy for every function. The shuffles read the generator's
 * values from a buffer filled ahead (`stream_t`) and make no data-dependent branch, which is
 * what makes them several times faster than numpy's loop (about 4 ns per int32 item against 10,
 * and 2 ns for draws only, on a 2-core development machine).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* `delta` more 64-bit outputs as one affine map of the state, state * mult + plus (Brown's
 * jump-ahead for an LCG, as numpy's pcg64_advance). */
typedef struct {
    u128 mult, plus;
    uint64_t delta;
} jump_t;

static void jump_make(jump_t *j, u128 inc, uint64_t delta) {
    u128 acc_mult = 1, acc_plus = 0, cur_mult = MULT, cur_plus = inc;
    j->delta = delta;
    while (delta > 0) {
        if (delta & 1) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    j->mult = acc_mult;
    j->plus = acc_plus;
}

/* The state after `delta` more 64-bit outputs. */
static void advance(pcg_t *g, uint64_t delta) {
    jump_t j;
    jump_make(&j, g->inc, delta);
    g->state = j.mult * g->state + j.plus;
}

/* `advance`, through a cached jump (spans are mostly of one size). */
static inline void advance_cached(pcg_t *g, jump_t *cache, uint64_t delta) {
    if (cache->delta != delta) jump_make(cache, g->inc, delta);
    g->state = cache->mult * g->state + cache->plus;
}

static inline uint32_t smear(uint32_t mask) {
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    return mask;
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

#define PAIRS 256 /* 64-bit outputs generated at a time */
#define LANES 4

static inline uint64_t output(u128 state) {
    uint64_t x = (uint64_t)(state >> 64) ^ (uint64_t)state;
    unsigned rot = (unsigned)(state >> 122);
    return (x >> rot) | (x << ((-rot) & 63));
}

/* The generator's 32-bit values in order, generated ahead a buffer at a time by LANES
 * interleaved copies of the LCG, each stepping LANES outputs at once (`mult`, `plus`), so that
 * their multiplications overlap. `stream_close` sets the generator to where next32 would have
 * left it: the start state advanced by the outputs whose halves were used. */
typedef struct {
    pcg_t start;
    u128 lanes[LANES], mult, plus;
    uint32_t buf[2 * PAIRS];
    Py_ssize_t at;
    uint64_t taken; /* values used from generated outputs */
    int pending;    /* the waiting high half (has_uint32) comes first */
} stream_t;

static void stream_open(stream_t *s, const pcg_t *g) {
    pcg_t jump = {0, g->inc, 0, 0};
    advance(&jump, LANES); /* from state 0: jump.state is the increment of LANES steps */
    s->start = *g;
    s->plus = jump.state;
    s->mult = 1;
    u128 state = g->state;
    for (int j = 0; j < LANES; j++) {
        s->mult *= MULT;
        s->lanes[j] = state = state * MULT + g->inc;
    }
    s->at = 2 * PAIRS;
    s->taken = 0;
    s->pending = g->has_uint32;
}

static inline uint32_t stream_next(stream_t *s) {
    if (s->pending) {
        s->pending = 0;
        return s->start.uinteger;
    }
    if (s->at == 2 * PAIRS) {
        for (int t = 0; t < PAIRS; t += LANES) {
            for (int j = 0; j < LANES; j++) {
                uint64_t x = output(s->lanes[j]);
                s->buf[2 * (t + j)] = (uint32_t)x;
                s->buf[2 * (t + j) + 1] = (uint32_t)(x >> 32);
                s->lanes[j] = s->lanes[j] * s->mult + s->plus;
            }
        }
        s->at = 0;
    }
    s->taken++;
    return s->buf[s->at++];
}

static void stream_close(stream_t *s, pcg_t *g) {
    *g = s->start;
    if (s->taken == 0) {
        g->has_uint32 = s->pending;
        return;
    }
    advance(g, (s->taken + 1) / 2);
    /* The last output used: its high half waits if only its low half was taken; numpy keeps
     * the last high half handed out in uinteger either way. */
    g->has_uint32 = (int)(s->taken & 1);
    g->uinteger = s->buf[(s->at - 1) | 1];
}

/* Fisher-Yates over each segment with numpy's random_interval(i), i = size - 1 down to 1,
 * without its branches: while the mask stays the same (i above half of it), each value is
 * accepted when (value & mask) <= i, which swaps items i and value and lowers i; a rejected one
 * swaps item i with itself. `a` NULL: the draws only. */
#define INTERVAL_LOOP(T, a)                                             \
    do {                                                                \
        T *seg = (a);                                                   \
        for (Py_ssize_t k = 0; k < count; k++) {                        \
            uint32_t i = sizes[k] > 1 ? (uint32_t)(sizes[k] - 1) : 0;   \
            while (i > 0) {                                             \
                const uint32_t mask = smear(i), half = mask >> 1;       \
                while (i > half) {                                      \
                    uint32_t v = stream_next(&s) & mask;                \
                    uint32_t accepted = v <= i;                         \
                    if (seg != NULL) {                                  \
                        uint32_t j = accepted ? v : i;                  \
                        T t = seg[j];                                   \
                        seg[j] = seg[i];                                \
                        seg[i] = t;                                     \
                    }                                                   \
                    i -= accepted;                                      \
                }                                                       \
            }                                                           \
            if (seg != NULL) seg += sizes[k];                           \
        }                                                               \
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
    stream_t s;
    Py_BEGIN_ALLOW_THREADS;
    stream_open(&s, &g);
    if (array.itemsize == 4)
        INTERVAL_LOOP(int32_t, (int32_t *)array.buf);
    else
        INTERVAL_LOOP(int64_t, (int64_t *)array.buf);
    stream_close(&s, &g);
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
    stream_t s;
    Py_BEGIN_ALLOW_THREADS;
    stream_open(&s, &g);
    INTERVAL_LOOP(int32_t, (int32_t *)NULL);
    stream_close(&s, &g);
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
    jump_t cache = {1, 0, 0};
    for (Py_ssize_t k = 0; k < view.shape[0]; k++) {
        long long window = low + (rng ? (long long)lemire32(&g, rng) : 0);
        if (window < sizes[k]) clipped = 1;
        advance_cached(&g, &cache, (uint64_t)sizes[k]);
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NN)", pcg_tuple(&g), PyBool_FromLong(clipped));
}

/* draw_positions(state, sizes, offset, length, low, high, out) -> (state, clipped): py1e's
 * draw_positions for consecutive spans of a node of `length` samples, the first starting at
 * node index `offset`: for each span, window = integers(low, high) and cutoff = (window -
 * size) / 2 (0, and clipped, if negative); the span's samples x get the positions x + u, u =
 * uniform(lower, upper) with lower = max(-cutoff, -x0) and upper = min(cutoff, length - x0 -
 * size) (x0 the span's first index), which numpy computes as lower + (upper - lower) * d, d its
 * next_double (one 64-bit output per sample, generated LANES at a time as in stream_t). The
 * sums are rounded as numpy's separate operations (the build has no contraction to fma). */
static PyObject *draw_positions(PyObject *self, PyObject *args) {
    PyObject *state, *sizes_obj, *out_obj;
    long long low, high, offset, length;
    pcg_t g;
    if (!PyArg_ParseTuple(args, "OOLLLLO", &state, &sizes_obj, &offset, &length, &low, &high,
                          &out_obj))
        return NULL;
    if (get_pcg(state, &g) < 0) return NULL;
    if (high <= low || high - low - 1 >= (long long)UINT32_MAX || offset < 0 ||
        length >= (1LL << 53)) {
        PyErr_Format(PyExc_ValueError,
                     "draw_positions needs low < high < low + 2**32 and 0 <= offset, length < "
                     "2**53, got low %lld, high %lld, offset %lld, length %lld", low, high,
                     offset, length);
        return NULL;
    }
    Py_buffer view, out;
    if (get_sizes(sizes_obj, &view) < 0) return NULL;
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) <
        0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const int64_t *sizes = (const int64_t *)view.buf;
    Py_ssize_t count = view.shape[0];
    int64_t total = 0;
    for (Py_ssize_t k = 0; k < count; k++) total += sizes[k];
    if (out.itemsize != 8 || out.format[0] != 'd' || total * 8 > out.len ||
        offset + total > length) {
        PyErr_Format(PyExc_ValueError,
                     "draw_positions needs a float64 output of the spans' %lld samples, and "
                     "spans inside the node (offset %lld, length %lld)", (long long)total,
                     offset, length);
        PyBuffer_Release(&view);
        PyBuffer_Release(&out);
        return NULL;
    }
    const uint32_t rng = (uint32_t)(high - low - 1);
    int clipped = 0;
    double *dst = (double *)out.buf;
    pcg_t jump = {0, g.inc, 0, 0};
    advance(&jump, LANES); /* LANES steps at once: state * mult + plus */
    u128 mult = 1, plus = jump.state;
    for (int j = 0; j < LANES; j++) mult *= MULT;
    jump_t cache = {1, 0, 0};
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t k = 0; k < count; k++) {
        const int64_t size = sizes[k];
        long long window = low + (rng ? (long long)lemire32(&g, rng) : 0);
        double cutoff = (double)(window - size) / 2;
        if (cutoff < 0) {
            cutoff = 0;
            clipped = 1;
        }
        /* Python's max and min: the first argument unless the second is larger (smaller). */
        const double down = -(double)offset, up = (double)(length - offset - size);
        const double lower = down > -cutoff ? down : -cutoff;
        const double upper = up < cutoff ? up : cutoff;
        const double range = upper - lower;
        u128 lanes[LANES], s = g.state;
        for (int j = 0; j < LANES; j++) lanes[j] = s = s * MULT + g.inc;
        int64_t i = 0;
        for (; i + LANES <= size; i += LANES) {
            for (int j = 0; j < LANES; j++) {
                const double d = (double)(output(lanes[j]) >> 11) * (1.0 / 9007199254740992.0);
                const double u = lower + range * d;
                dst[i + j] = (double)(offset + i + j) + u;
                lanes[j] = lanes[j] * mult + plus;
            }
        }
        for (int j = 0; i + j < size; j++) {
            const double d = (double)(output(lanes[j]) >> 11) * (1.0 / 9007199254740992.0);
            const double u = lower + range * d;
            dst[i + j] = (double)(offset + i + j) + u;
        }
        advance_cached(&g, &cache, (uint64_t)size);
        dst += size;
        offset += size;
    }
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&view);
    PyBuffer_Release(&out);
    return Py_BuildValue("(NN)", pcg_tuple(&g), PyBool_FromLong(clipped));
}


/* sort_window(values, ids, out, window_start, bits) -> [(start, size), ...]
 *
 * One window of position_sort's sweep: `values` (float64) are positions in
 * [window_start, window_start + 2**bits), `ids` their sample IDs (4- or 8-byte items), both in
 * index order. Writes the IDs in order of position to `out` (same item size, no overlap), as
 * numpy does there: the 32-bit key floor((value - window_start) * 2**(32 - bits)) sorted by
 * two stable 16-bit radix passes, then each run of equal keys re-sorted stably by the exact
 * value. Returns the groups of equal values (ties), as (first index in `out`, size). */
static PyObject *sort_window(PyObject *self, PyObject *args) {
    PyObject *values_obj, *ids_obj, *out_obj;
    double window_start;
    int bits;
    if (!PyArg_ParseTuple(args, "OOOdi", &values_obj, &ids_obj, &out_obj, &window_start, &bits))
        return NULL;
    if (bits < 1 || bits > 32) {
        PyErr_Format(PyExc_ValueError, "sort_window needs 1 <= bits <= 32, got %d", bits);
        return NULL;
    }
    Py_buffer vb, ib, ob;
    if (PyObject_GetBuffer(values_obj, &vb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (PyObject_GetBuffer(ids_obj, &ib, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&vb);
        return NULL;
    }
    if (PyObject_GetBuffer(out_obj, &ob, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&vb);
        PyBuffer_Release(&ib);
        return NULL;
    }
    PyObject *result = NULL;
    uint32_t *keys = NULL, *order = NULL, *scratch = NULL, *counts = NULL;
    Py_ssize_t n = vb.len / 8;
    Py_ssize_t size = ib.itemsize;
    if (vb.itemsize != 8 || vb.format[0] != 'd' || (size != 4 && size != 8) ||
        ib.len != n * size || ob.itemsize != size || ob.len < n * size || n >= (1LL << 32)) {
        PyErr_SetString(PyExc_ValueError,
                        "sort_window needs float64 values, and ids and out of one 4- or 8-byte "
                        "item type, as many ids as values and room for them in out");
        goto done;
    }
    const double *v = (const double *)vb.buf;
    const double scale = (double)(1ULL << (32 - bits));
    keys = malloc(n * sizeof(uint32_t) + 1);
    order = malloc(n * sizeof(uint32_t) + 1);
    scratch = malloc(n * sizeof(uint32_t) + 1);
    counts = calloc(2 * 65536, sizeof(uint32_t));
    if (!keys || !order || !scratch || !counts) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double k = (v[i] - window_start) * scale;
        if (!(k >= 0.0 && k < 4294967296.0)) {
            PyObject *p = PyFloat_FromDouble(v[i]), *a = PyFloat_FromDouble(window_start),
                     *b = PyFloat_FromDouble(window_start + (double)(1ULL << bits));
            if (p && a && b)
                PyErr_Format(PyExc_ValueError,
                             "sort_window: position %R lies outside the window [%R, %R)", p, a,
                             b);
            Py_XDECREF(p);
            Py_XDECREF(a);
            Py_XDECREF(b);
            goto done;
        }
        keys[i] = (uint32_t)k;
    }
    Py_BEGIN_ALLOW_THREADS;
    uint32_t *low = counts, *high = counts + 65536;
    for (Py_ssize_t i = 0; i < n; i++) {
        low[keys[i] & 0xFFFF]++;
        high[keys[i] >> 16]++;
    }
    uint32_t sum_low = 0, sum_high = 0;
    for (int b = 0; b < 65536; b++) {
        uint32_t c = low[b];
        low[b] = sum_low;
        sum_low += c;
        c = high[b];
        high[b] = sum_high;
        sum_high += c;
    }
    for (Py_ssize_t i = 0; i < n; i++) scratch[low[keys[i] & 0xFFFF]++] = (uint32_t)i;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t j = scratch[i];
        order[high[keys[j] >> 16]++] = j;
    }
    Py_END_ALLOW_THREADS;
    result = PyList_New(0);
    if (result == NULL) goto done;
    /* Runs of equal keys: a stable insertion sort by the exact value, then the ties. */
    for (Py_ssize_t a = 0; a < n;) {
        Py_ssize_t b = a + 1;
        while (b < n && keys[order[b]] == keys[order[a]]) b++;
        if (b - a > 1) {
            for (Py_ssize_t i = a + 1; i < b; i++) {
                uint32_t item = order[i];
                Py_ssize_t j = i;
                while (j > a && v[order[j - 1]] > v[item]) {
                    order[j] = order[j - 1];
                    j--;
                }
                order[j] = item;
            }
            for (Py_ssize_t i = a; i < b;) {
                Py_ssize_t e = i + 1;
                while (e < b && v[order[e]] == v[order[i]]) e++;
                if (e - i > 1) {
                    PyObject *tie = Py_BuildValue("(nn)", i, e - i);
                    if (tie == NULL || PyList_Append(result, tie) < 0) {
                        Py_XDECREF(tie);
                        Py_CLEAR(result);
                        goto done;
                    }
                    Py_DECREF(tie);
                }
                i = e;
            }
        }
        a = b;
    }
    if (size == 4) {
        const int32_t *src = (const int32_t *)ib.buf;
        int32_t *dst = (int32_t *)ob.buf;
        for (Py_ssize_t i = 0; i < n; i++) dst[i] = src[order[i]];
    } else {
        const int64_t *src = (const int64_t *)ib.buf;
        int64_t *dst = (int64_t *)ob.buf;
        for (Py_ssize_t i = 0; i < n; i++) dst[i] = src[order[i]];
    }
done:
    free(keys);
    free(order);
    free(scratch);
    free(counts);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&ib);
    PyBuffer_Release(&ob);
    return result;
}

/* `keep` ? a : b, as a mask (no branch). */
static inline double pick(int keep, double a, double b) {
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    const uint64_t mask = -(uint64_t)keep;
    x = (x & mask) | (y & ~mask);
    memcpy(&a, &x, 8);
    return a;
}

static inline Py_ssize_t window_or(int keep, Py_ssize_t window, Py_ssize_t other) {
    const Py_ssize_t mask = -(Py_ssize_t)keep;
    return (window & mask) | (other & ~mask);
}

/* position_sort's split of a block by window, for the samples at or above `below` (the rest
 * are dropped: a resume's node counts them without sorting them): window w = (int64)(value *
 * inverse_width - first), as numpy computes it there, where `first` is the kept values' least
 * times inverse_width. Writes the kept values and ids (4- or 8-byte items) grouped by window,
 * in index order within each (a stable counting sort, as numpy's stable argsort of the window
 * numbers), to values_out and ids_out, which hold at least the kept and, if any is dropped,
 * one slot more (scratch: the dropped are written there). Returns (first, each window's end
 * there); the ends are empty when nothing is kept. */
static PyObject *split_above(PyObject *self, PyObject *args) {
    PyObject *values_obj, *ids_obj, *vout_obj, *iout_obj;
    double below, inverse_width;
    if (!PyArg_ParseTuple(args, "OOOOdd", &values_obj, &ids_obj, &vout_obj, &iout_obj, &below,
                          &inverse_width))
        return NULL;
    Py_buffer vb, ib, vo, io;
    int got = 0;
    PyObject *result = NULL, *ends_list = NULL;
    Py_ssize_t *ends = NULL;
    if (PyObject_GetBuffer(values_obj, &vb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    got = 1;
    if (PyObject_GetBuffer(ids_obj, &ib, PyBUF_C_CONTIGUOUS) < 0) goto release;
    got = 2;
    if (PyObject_GetBuffer(vout_obj, &vo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto release;
    got = 3;
    if (PyObject_GetBuffer(iout_obj, &io, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto release;
    got = 4;
    Py_ssize_t n = vb.len / 8, size = ib.itemsize;
    if (vb.itemsize != 8 || vb.format[0] != 'd' || (size != 4 && size != 8) ||
        ib.len != n * size || io.itemsize != size || vo.len / 8 != io.len / size) {
        PyErr_SetString(PyExc_ValueError,
                        "split_above needs float64 values, ids of 4- or 8-byte items and "
                        "outputs of their item sizes, of one length");
        goto release;
    }
    const double *v = (const double *)vb.buf;
    /* Without branches on `keep` (masks, not conditionals, which compilers turn into
     * branches here): near a resume's first row about half the samples are kept, at random,
     * and mispredicted branches would cost twice the split itself. */
    double least = INFINITY, greatest = -INFINITY;
    Py_ssize_t kept = 0;
    int nan = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double x = v[i];
        const int keep = x >= below;
        const double low = pick(keep, x, INFINITY), high = pick(keep, x, -INFINITY);
        least = low < least ? low : least;
        greatest = high > greatest ? high : greatest;
        kept += keep;
        nan |= x != x;
    }
    if (nan) {
        PyErr_SetString(PyExc_ValueError, "split_above: a position is NaN");
        goto release;
    }
    if (vo.len / 8 < kept + (kept < n)) {
        PyErr_Format(PyExc_ValueError, "split_above: outputs of %zd items cannot hold the %zd "
                     "kept and a slot for the dropped", vo.len / 8, kept);
        goto release;
    }
    long long first = kept ? (long long)(least * inverse_width) : 0;
    Py_ssize_t count = kept ? (Py_ssize_t)((long long)(greatest * inverse_width) - first + 1) : 0;
    /* ends[w + 1] counts window w, then ends[w] is its cursor; a dropped sample counts as
     * window `count`, whose cursor stays after every kept one: the dropped are all written
     * there, one over another, so the outputs need hold only one item more than the kept. */
    ends = calloc(count + 2, sizeof(Py_ssize_t));
    if (!ends) {
        PyErr_NoMemory();
        goto release;
    }
#define WINDOW(x) window_or((x) >= below, (Py_ssize_t)((x) * inverse_width - (double)first), count)
    if (kept) {
        for (Py_ssize_t i = 0; i < n; i++) ends[WINDOW(v[i]) + 1]++;
        for (Py_ssize_t w = 0; w < count; w++) ends[w + 1] += ends[w];
        double *vdst = (double *)vo.buf;
        if (size == 4) {
            const int32_t *src = (const int32_t *)ib.buf;
            int32_t *dst = (int32_t *)io.buf;
            for (Py_ssize_t i = 0; i < n; i++) {
                const Py_ssize_t w = WINDOW(v[i]), j = ends[w];
                ends[w] = j + (v[i] >= below);
                vdst[j] = v[i];
                dst[j] = src[i];
            }
        } else {
            const int64_t *src = (const int64_t *)ib.buf;
            int64_t *dst = (int64_t *)io.buf;
            for (Py_ssize_t i = 0; i < n; i++) {
                const Py_ssize_t w = WINDOW(v[i]), j = ends[w];
                ends[w] = j + (v[i] >= below);
                vdst[j] = v[i];
                dst[j] = src[i];
            }
        }
    }
#undef WINDOW
    ends_list = PyList_New(count);
    if (ends_list == NULL) goto release;
    for (Py_ssize_t w = 0; w < count; w++) {
        PyObject *end = PyLong_FromSsize_t(ends[w]);
        if (end == NULL) goto release;
        PyList_SET_ITEM(ends_list, w, end);
    }
    result = Py_BuildValue("(LO)", first, ends_list);
release:
    Py_XDECREF(ends_list);
    free(ends);
    if (got >= 4) PyBuffer_Release(&io);
    if (got >= 3) PyBuffer_Release(&vo);
    if (got >= 2) PyBuffer_Release(&ib);
    if (got >= 1) PyBuffer_Release(&vb);
    return result;
}

static PyMethodDef methods[] = {
    {"shuffle_segments", shuffle_segments, METH_VARARGS,
     "shuffle_segments(state, array, sizes) -> state: rng.shuffle of each segment."},
    {"skip_shuffles", skip_shuffles, METH_VARARGS,
     "skip_shuffles(state, sizes) -> state: the draws of shuffle_segments."},
    {"skip_positions", skip_positions, METH_VARARGS,
     "skip_positions(state, sizes, low, high) -> (state, clipped): py1e's position draws."},
    {"sort_window", sort_window, METH_VARARGS,
     "sort_window(values, ids, out, window_start, bits) -> ties: one window of the sweep."},
    {"draw_positions", draw_positions, METH_VARARGS,
     "draw_positions(state, sizes, offset, length, low, high, out) -> (state, clipped): py1e's "
     "positions."},
    {"split_above", split_above, METH_VARARGS,
     "split_above(values, ids, values_out, ids_out, below, inverse_width) -> (first, ends)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_py1e", NULL, -1, methods};

PyMODINIT_FUNC PyInit__py1e(void) { return PyModule_Create(&module); }
