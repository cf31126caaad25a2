/*
 * One pass over a logits row: a histogram of each token's distance below the maximum.
 * See app/core/distribution.py, which also holds the same contract in numpy.
 *
 * numpy needs four passes and a scatter-add (np.bincount) for it, about 0.6 ms per row
 * of 262,144 logits on a 2-core CPU (4% of a decode step of a small model); this loop
 * takes 0.18 ms with SSE2 (0.28 ms without), 0.10 ms on two OpenMP threads.
 *
 * histogram(logits, max_logit, bins_per_logit, counts, head_limit, head_ids, work)
 *     -> (n_head, used_bins)
 *   logits: float32 buffer; counts: int32 writable buffer, overwritten; work: int32
 *   scratch at least as long as counts (no allocation per call); given 3 * len(counts)
 *   + len(head_ids), a build with OpenMP counts the two halves of a long row on two
 *   threads. Token i falls in
 *   bin (int)((max_logit - z_i) * bins_per_logit), computed in float32 and clamped to
 *   [0, len(counts) - 1] (NaN goes to the last bin). The ids of tokens in bins
 *   <= head_limit go to the int32 buffer head_ids, in index order, as far as it holds
 *   them; n_head counts them all. used_bins is one past the last non-empty bin.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define PARALLEL_MIN 65536 /* tokens: below this a second thread costs more than it saves */
#endif

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

static inline int bin_of(float max_logit, float z, float bins_per_logit, float last) {
    float distance = (max_logit - z) * bins_per_logit;
    distance = distance < last ? distance : last;
    distance = distance > 0.0f ? distance : 0.0f;
    return (int)distance;
}

/* Counts tokens [begin, end) into two interleaved sub-histograms and writes the ids of
   tokens in bins <= limit to h (as far as head_cap allows); returns how many there were. */
static Py_ssize_t count_range(const float *z, Py_ssize_t begin, Py_ssize_t end, float max_logit,
                              float bins_per_logit, float last, int limit, int *sub, int *sub1,
                              int *h, Py_ssize_t head_cap) {
    Py_ssize_t n_head = 0;
    Py_ssize_t i = begin;
#ifdef HAVE_SSE2
    /* 16 tokens at a time: their bins in SSE2 (the same float32 arithmetic as bin_of:
       minps returns `last` for NaN), counted, and only a group holding a bin <= limit
       is searched token by token. */
    int bins[16];
    const __m128 v_max = _mm_set1_ps(max_logit), v_scale = _mm_set1_ps(bins_per_logit);
    const __m128 v_last = _mm_set1_ps(last), v_zero = _mm_setzero_ps();
    const __m128i v_limit = _mm_set1_epi32(limit + 1);
    for (; i + 16 <= end; i += 16) {
        __m128i head_mask = _mm_setzero_si128();
        for (int k = 0; k < 16; k += 4) {
            __m128 d = _mm_mul_ps(_mm_sub_ps(v_max, _mm_loadu_ps(z + i + k)), v_scale);
            const __m128i b = _mm_cvttps_epi32(_mm_max_ps(_mm_min_ps(d, v_last), v_zero));
            _mm_storeu_si128((__m128i *)(bins + k), b);
            head_mask = _mm_or_si128(head_mask, _mm_cmplt_epi32(b, v_limit));
        }
        for (int k = 0; k < 16; k += 2) {
            sub[bins[k]]++;
            sub1[bins[k + 1]]++;
        }
        if (_mm_movemask_epi8(head_mask)) {
            for (int k = 0; k < 16; k++) {
                if (bins[k] <= limit) {
                    if (n_head < head_cap) {
                        h[n_head] = (int)(i + k);
                    }
                    n_head++;
                }
            }
        }
    }
#endif
    for (; i < end; i++) {
        const int b = bin_of(max_logit, z[i], bins_per_logit, last);
        ((i & 1) ? sub1 : sub)[b]++;
        if (b <= limit) {
            if (n_head < head_cap) {
                h[n_head] = (int)i;
            }
            n_head++;
        }
    }
    return n_head;
}

static PyObject *histogram(PyObject *self, PyObject *args) {
    Py_buffer logits, counts, head, work;
    float max_logit, bins_per_logit;
    Py_ssize_t head_limit;
    if (!PyArg_ParseTuple(args, "y*ffw*nw*w*", &logits, &max_logit, &bins_per_logit, &counts,
                          &head_limit, &head, &work)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (logits.itemsize != 4 || counts.itemsize != 4 || head.itemsize != 4 || counts.len == 0 ||
        counts.len / 4 > 0x7fffffff || work.itemsize != 4 || work.len < counts.len) {
        PyErr_SetString(PyExc_ValueError,
                        "expected float32 logits, non-empty int32 counts, int32 head_ids and "
                        "an int32 work buffer at least as long as counts");
        goto done;
    }
    int *h = (int *)head.buf;
    const Py_ssize_t head_cap = head.len / 4;
    Py_ssize_t n_head = 0;
    const float *z = (const float *)logits.buf;
    int *c = (int *)counts.buf;
    const Py_ssize_t n = logits.len / 4;
    const Py_ssize_t n_bins = counts.len / 4;
    int *w = (int *)work.buf;
    const Py_ssize_t work_len = work.len / 4;
    Py_ssize_t used;
    const float last = (float)(n_bins - 1);
    const int limit = head_limit < n_bins ? (int)head_limit : (int)n_bins;
    Py_BEGIN_ALLOW_THREADS
    /* Two interleaved sub-histograms per part (counts and work): neighbouring tokens often
       share a bin, and incrementing one counter back to back waits on the previous store. */
#ifdef _OPENMP
    /* With a work buffer of 3 * n_bins + head_cap, the row is split in two halves counted
       on two threads of the OpenMP team llama.cpp's CPU backend also uses: right after a
       decode its second thread is still spinning, waiting for work, and takes the other
       half at once. */
    if (n >= PARALLEL_MIN && work_len >= 3 * n_bins + head_cap) {
        const Py_ssize_t mid = (n / 2) & ~(Py_ssize_t)15;
        int *h2 = w + 3 * n_bins;
        Py_ssize_t n_first = 0, n_second = 0;
        memset(c, 0, (size_t)n_bins * sizeof(int));
        memset(w, 0, (size_t)(3 * n_bins) * sizeof(int));
#pragma omp parallel sections num_threads(2)
        {
#pragma omp section
            n_first = count_range(z, 0, mid, max_logit, bins_per_logit, last, limit, c, w, h,
                                  head_cap);
#pragma omp section
            n_second = count_range(z, mid, n, max_logit, bins_per_logit, last, limit,
                                   w + n_bins, w + 2 * n_bins, h2, head_cap);
        }
        for (Py_ssize_t b = 0; b < n_bins; b++) {
            c[b] += w[b] + w[n_bins + b] + w[2 * n_bins + b];
        }
        if (n_first < head_cap) {
            Py_ssize_t take = n_second < head_cap - n_first ? n_second : head_cap - n_first;
            memcpy(h + n_first, h2, (size_t)take * sizeof(int));
        }
        n_head = n_first + n_second;
    } else
#endif
    {
        memset(c, 0, (size_t)n_bins * sizeof(int));
        memset(w, 0, (size_t)n_bins * sizeof(int));
        n_head = count_range(z, 0, n, max_logit, bins_per_logit, last, limit, c, w, h,
                             head_cap);
        for (Py_ssize_t b = 0; b < n_bins; b++) {
            c[b] += w[b];
        }
    }
    for (used = n_bins; used > 0 && c[used - 1] == 0; used--) {
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("nn", n_head, used);
done:
    PyBuffer_Release(&logits);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&head);
    PyBuffer_Release(&work);
    return result;
}


/*
 * tail_sums(counts, first_bin, bins_per_logit, temperature) -> (s0, s1)
 *   The tail of a summarised distribution at temperature T: s0 = sum of e^x and
 *   s1 = sum of x e^x over its tokens, x = -(distance below the maximum) / T. Same
 *   quadrature as StepDistribution._tail_nodes (linear density inside each bin, slope
 *   from the neighbours, 3-point Gauss-Legendre), rearranged so that a bin costs a few
 *   multiply-adds and no exp: with a = count, b = a * slope (clipped) and
 *   e^(-(centre + u) / T) = e^(-centre / T) e^(-u / T), the three nodes of a bin sum to
 *       s0: e^(-centre / T) (a A + b B)
 *       s1: -e^(-centre / T) (centre (a A + b B) + a B + b C) / T
 *   where A, B, C are sums over the nodes of w e^(-u / T), w u e^(-u / T) and
 *   w u^2 e^(-u / T), and e^(-centre / T) is a geometric sequence over the bins.
 *   counts: uint16 or int32 buffer.
 */
#define TAIL_LOOP(COUNT)                                                                \
    for (Py_ssize_t i = 0; i < n; i++, centre += width, ec *= ratio) {                \
        const double a = (double)COUNT(i);                                              \
        const double left = (double)COUNT(i > 0 ? i - 1 : 0);                           \
        const double right = (double)COUNT(i < n - 1 ? i + 1 : n - 1);                  \
        double b = (right - left) * inv_two_width; /* a * slope; 0 where a is 0 */      \
        const double bound = a * inv_half;                                              \
        b = b < -bound ? -bound : (b > bound ? bound : b);                              \
        const double mass = a * A + b * B;                                              \
        sum0 += ec * mass;                                                              \
        sum1 += ec * (centre * mass + a * B + b * C);                                   \
    }

static PyObject *tail_sums(PyObject *self, PyObject *args) {
    Py_buffer counts;
    Py_ssize_t first_bin;
    double bins_per_logit, temperature;
    if (!PyArg_ParseTuple(args, "y*ndd", &counts, &first_bin, &bins_per_logit, &temperature)) {
        return NULL;
    }
    PyObject *result = NULL;
    if ((counts.itemsize != 2 && counts.itemsize != 4) || !(temperature > 0.0) ||
        !(bins_per_logit > 0.0)) {
        PyErr_SetString(PyExc_ValueError,
                        "expected uint16 or int32 counts and positive bins_per_logit, T");
        goto done;
    }
    const Py_ssize_t n = counts.len / counts.itemsize;
    double sum0 = 0.0, sum1 = 0.0;
    if (n > 0) {
        const double width = 1.0 / bins_per_logit, half = width / 2;
        const double inv_two_width = bins_per_logit / 2, inv_half = 1.0 / half;
        const double node = sqrt(3.0 / 5.0) * half;
        const double us[3] = {-node, 0.0, node};
        const double ws[3] = {5.0 / 18.0, 8.0 / 18.0, 5.0 / 18.0};
        double A = 0.0, B = 0.0, C = 0.0;
        for (int k = 0; k < 3; k++) {
            const double weighted = ws[k] * exp(-us[k] / temperature);
            A += weighted;
            B += weighted * us[k];
            C += weighted * us[k] * us[k];
        }
        const double ratio = exp(-width / temperature);
        double centre = ((double)first_bin + 0.5) * width;
        double ec = exp(-centre / temperature);
        if (counts.itemsize == 4) {
            const int *c32 = (const int *)counts.buf;
#define C32(i) c32[(i)]
            TAIL_LOOP(C32)
#undef C32
        } else {
            const unsigned short *c16 = (const unsigned short *)counts.buf;
#define C16(i) c16[(i)]
            TAIL_LOOP(C16)
#undef C16
        }
    }
    result = Py_BuildValue("dd", sum0, -sum1 / temperature);
done:
    PyBuffer_Release(&counts);
    return result;
}
#undef TAIL_LOOP


/*
 * head_sums(head_logits, max_logit, temperature) -> (s0, s1)
 *   The head of a summarised distribution (float32 logits z, stored exactly) at
 *   temperature T: s0 = sum of e^x and s1 = sum of x e^x, x = (z - max) / T. With
 *   tail_sums, the softmax normalizer and the entropy in two calls and no numpy
 *   temporaries (the timeline asks for both on every step of a live run).
 */
static PyObject *head_sums(PyObject *self, PyObject *args) {
    Py_buffer logits;
    double max_logit, temperature;
    if (!PyArg_ParseTuple(args, "y*dd", &logits, &max_logit, &temperature)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (logits.itemsize != 4 || !(temperature > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "expected float32 logits and a positive T");
        goto done;
    }
    const float *z = (const float *)logits.buf;
    const Py_ssize_t n = logits.len / 4;
    double s0 = 0.0, s1 = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double x = ((double)z[i] - max_logit) / temperature;
        const double e = exp(x);
        s0 += e;
        s1 += x * e;
    }
    result = Py_BuildValue("dd", s0, s1);
done:
    PyBuffer_Release(&logits);
    return result;
}


typedef struct {
    float z;
    int id;
} head_entry;

static int by_logit_then_id(const void *a, const void *b) {
    const head_entry *x = (const head_entry *)a, *y = (const head_entry *)b;
    if (x->z != y->z) {
        return x->z > y->z ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* The smallest float32 z whose bin ((max - z) * bins_per_logit, truncated) is <= last. */
static float lowest_logit_in_bins(float max_logit, float bins_per_logit, Py_ssize_t last) {
    const float bound = (float)(last + 1);
    float z = (float)((double)max_logit - (double)(last + 1) / (double)bins_per_logit);
    while (!((max_logit - z) * bins_per_logit < bound)) {
        z = nextafterf(z, INFINITY);
    }
    for (float lower = nextafterf(z, -INFINITY); (max_logit - lower) * bins_per_logit < bound;
         lower = nextafterf(z, -INFINITY)) {
        z = lower;
    }
    return z;
}

/*
 * select_head(logits, max_logit, bins_per_logit, counts, candidates, n_candidates,
 *             candidate_bin, margin_bins, head_min, head_max, out_ids, out_logits)
 *     -> (n_head, last_head_bin)
 *   The head of a summarised row, as distribution.py's numpy path chooses it: the bins
 *   within margin_bins of the maximum, widened to hold head_min tokens, narrowed to
 *   head_max (whole bins); its tokens from the candidates when they cover it, else from
 *   the whole row; written to out_ids / out_logits sorted by logit, highest first (ties
 *   by id). out buffers must hold as many entries as the row has tokens.
 */
static PyObject *select_head(PyObject *self, PyObject *args) {
    Py_buffer logits, counts, candidates, out_ids, out_logits;
    float max_logit, bins_per_logit;
    Py_ssize_t n_candidates, candidate_bin, margin_bins, head_min, head_max;
    if (!PyArg_ParseTuple(args, "y*ffy*y*nnnnnw*w*", &logits, &max_logit, &bins_per_logit,
                          &counts, &candidates, &n_candidates, &candidate_bin, &margin_bins,
                          &head_min, &head_max, &out_ids, &out_logits)) {
        return NULL;
    }
    PyObject *result = NULL;
    const Py_ssize_t n = logits.len / 4, n_bins = counts.len / 4;
    if (logits.itemsize != 4 || counts.itemsize != 4 || candidates.itemsize != 4 ||
        out_ids.itemsize != 4 || out_logits.itemsize != 4 || n_bins == 0 || n == 0 ||
        out_ids.len / 4 < n || out_logits.len / 4 < n || n_candidates < 0) {
        PyErr_SetString(PyExc_ValueError, "select_head: unexpected buffers");
        goto done;
    }
    const float *z = (const float *)logits.buf;
    const int *c = (const int *)counts.buf;
    const int *cand = (const int *)candidates.buf;
    int *ids = (int *)out_ids.buf;
    float *zs = (float *)out_logits.buf;
    Py_ssize_t n_head = 0, last;
    Py_BEGIN_ALLOW_THREADS
    /* The last head bin: margin, widened to head_min tokens, narrowed to head_max. */
    Py_ssize_t first_min = n_bins;
    long long cum = 0;
    for (Py_ssize_t i = 0; i < n_bins; i++) {
        cum += c[i];
        if (cum >= head_min) {
            first_min = i;
            break;
        }
    }
    last = margin_bins - 1 > first_min ? margin_bins - 1 : first_min;
    last = last < n_bins - 1 ? last : n_bins - 1;
    long long cum_last = 0;
    for (Py_ssize_t i = 0; i <= last; i++) {
        cum_last += c[i];
    }
    if (cum_last > head_max) {
        Py_ssize_t first_over = n_bins;
        long long at_capped;
        cum = 0;
        for (Py_ssize_t i = 0; i < n_bins; i++) {
            if (cum + c[i] > head_max) {
                first_over = i;
                break;
            }
            cum += c[i];
        }
        Py_ssize_t capped = first_over - 1 > 0 ? first_over - 1 : 0;
        at_capped = 0;
        for (Py_ssize_t i = 0; i <= capped; i++) {
            at_capped += c[i];
        }
        last = at_capped >= head_min ? capped : capped + 1;
    }
    const float threshold =
        last >= n_bins - 1 ? -INFINITY : lowest_logit_in_bins(max_logit, bins_per_logit, last);
    if (last <= candidate_bin && n_candidates <= candidates.len / 4) {
        for (Py_ssize_t k = 0; k < n_candidates; k++) {
            const int id = cand[k];
            if (z[id] >= threshold) {
                ids[n_head++] = id;
            }
        }
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (z[i] >= threshold) {
                ids[n_head++] = (int)i;
            }
        }
    }
    Py_END_ALLOW_THREADS
    head_entry *sorted =
        (head_entry *)PyMem_Malloc((size_t)(n_head > 0 ? n_head : 1) * sizeof(head_entry));
    if (sorted == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n_head; k++) {
        sorted[k].z = z[ids[k]];
        sorted[k].id = ids[k];
    }
    qsort(sorted, (size_t)n_head, sizeof(head_entry), by_logit_then_id);
    for (Py_ssize_t k = 0; k < n_head; k++) {
        ids[k] = sorted[k].id;
        zs[k] = sorted[k].z;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(sorted);
    result = Py_BuildValue("nn", n_head, last);
done:
    PyBuffer_Release(&logits);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&candidates);
    PyBuffer_Release(&out_ids);
    PyBuffer_Release(&out_logits);
    return result;
}

static PyMethodDef methods[] = {
    {"histogram", histogram, METH_VARARGS,
     "histogram(logits, max_logit, bins_per_logit, counts, head_limit, head_ids, work) "
     "-> (n_head, used_bins)"},
    {"select_head", select_head, METH_VARARGS,
     "select_head(logits, max_logit, bins_per_logit, counts, candidates, n_candidates, "
     "candidate_bin, margin_bins, head_min, head_max, out_ids, out_logits) "
     "-> (n_head, last_head_bin)"},
    {"tail_sums", tail_sums, METH_VARARGS,
     "tail_sums(counts, first_bin, bins_per_logit, temperature) -> (s0, s1)"},
    {"head_sums", head_sums, METH_VARARGS,
     "head_sums(head_logits, max_logit, temperature) -> (s0, s1)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_logit_histogram",
    "Single-pass histogram of a logits row (see distribution.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__logit_histogram(void) { return PyModule_Create(&module); }
