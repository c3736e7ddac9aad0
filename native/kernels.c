/*
 * C baselines of the Thanos-J kernels (dev.thanosj.kernels.Kernels): the same operations, the same float
 * operations per entry (so the same masks), written plainly for gcc -O3 -march=native to vectorise.
 * Called from the JMH benchmarks through FFM (bench/.../NativeKernels.java). Masks are uint64 bitsets,
 * entry c at bit c % 64 of word c / 64. Scores: metric 0 = |w|*f, metric 1 = (w*w)/f; bits with sign cleared.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline int32_t score_bits(float w, float f, int metric) {
    float s = metric == 0 ? fabsf(w) * f : (w * w) / f;
    int32_t b;
    memcpy(&b, &s, sizeof b);
    return b & 0x7fffffff;
}

void tj_wanda_metric(const float *restrict row, const float *restrict s, int n, float *restrict out) {
    for (int c = 0; c < n; c++) {
        out[c] = fabsf(row[c]) * s[c];
    }
}

int64_t tj_count_and_collect(const float *restrict row, const float *restrict f, int n, int metric, int32_t lo,
                             int32_t hi, int64_t key_base, int64_t *restrict keys, int key_start, int key_limit) {
    int64_t below = 0;
    int64_t in_window = 0;
    if (metric == 0) {
        /* vectorisable count; the rare window entries are gathered in a second, branchy loop per 16 */
        for (int c0 = 0; c0 < n; c0 += 16) {
            int end = c0 + 16 < n ? c0 + 16 : n;
            int any = 0;
            for (int c = c0; c < end; c++) {
                int32_t b = score_bits(row[c], f[c], 0);
                below += b < lo;
                any |= (b >= lo) & (b <= hi);
            }
            if (any) {
                for (int c = c0; c < end; c++) {
                    int32_t b = score_bits(row[c], f[c], 0);
                    if (b >= lo && b <= hi) {
                        if (key_start + in_window < key_limit) {
                            keys[key_start + in_window] = ((int64_t) b << 32) | (key_base + c);
                        }
                        in_window++;
                    }
                }
            }
        }
    } else {
        for (int c = 0; c < n; c++) {
            int32_t b = score_bits(row[c], f[c], metric);
            if (b < lo) {
                below++;
            } else if (b <= hi) {
                if (key_start + in_window < key_limit) {
                    keys[key_start + in_window] = ((int64_t) b << 32) | (key_base + c);
                }
                in_window++;
            }
        }
    }
    return (below << 32) | in_window;
}

int tj_mark_selected(const float *restrict row, const float *restrict f, int n, int metric, int32_t limit,
                     int tie_columns, uint64_t *restrict mask) {
    int count = 0;
    for (int w = 0; w < (n + 63) / 64; w++) {
        uint64_t word = 0;
        int end = w * 64 + 64 < n ? w * 64 + 64 : n;
        for (int c = w * 64; c < end; c++) {
            int32_t b = score_bits(row[c], f[c], metric);
            uint64_t sel = (b < limit) | ((b == limit) & (c < tie_columns));
            word |= sel << (c & 63);
        }
        mask[w] = word;
        count += __builtin_popcountll(word);
    }
    return count;
}

void tj_n_of_m_mask(const float *restrict row, const float *restrict f, int n, int metric, int keep, int m,
                    uint64_t *restrict mask) {
    memset(mask, 0, sizeof(uint64_t) * ((n + 63) / 64));
    if (m == 4) { /* the common 2:4 case, branch-free ranks */
        for (int g = 0; g < n; g += 4) {
            int32_t b[4];
            for (int i = 0; i < 4; i++) {
                b[i] = score_bits(row[g + i], f[g + i], metric);
            }
            for (int i = 0; i < 4; i++) {
                int rank = 0;
                for (int j = 0; j < 4; j++) {
                    rank += (b[j] < b[i]) | ((b[j] == b[i]) & (j < i));
                }
                mask[(g + i) >> 6] |= (uint64_t) (rank < keep) << ((g + i) & 63);
            }
        }
        return;
    }
    for (int g = 0; g < n; g += m) {
        for (int i = 0; i < m; i++) {
            int32_t bi = score_bits(row[g + i], f[g + i], metric);
            int rank = 0;
            for (int j = 0; j < m; j++) {
                int32_t bj = score_bits(row[g + j], f[g + j], metric);
                rank += (bj < bi) | ((bj == bi) & (j < i));
            }
            mask[(g + i) >> 6] |= (uint64_t) (rank < keep) << ((g + i) & 63);
        }
    }
}

void tj_zero_masked(float *restrict row, int n, const uint64_t *restrict mask) {
    for (int c = 0; c < n; c++) {
        if ((mask[c >> 6] >> (c & 63)) & 1) {
            row[c] = 0.0f;
        }
    }
}

/* L systems side by side, lane innermost (see Kernels.spdSolveBatch); L must be 4, 8 or 16. */
#define LANES_MAX 16
/* A[r][j + c] -= sum_{p<j} L[r][p] L[j + c][p] for the rows at ra, rb and c = 0..3 (eight accumulators). */
static inline __attribute__((always_inline)) void tile_sums(float *restrict work, int ra, int rb, int j, const int L) {
    int r0 = j * (j + 1) / 2 * L, r1 = r0 + (j + 1) * L, r2 = r1 + (j + 2) * L, r3 = r2 + (j + 3) * L;
    float a0[LANES_MAX] = {0}, a1[LANES_MAX] = {0}, a2[LANES_MAX] = {0}, a3[LANES_MAX] = {0};
    float b0[LANES_MAX] = {0}, b1[LANES_MAX] = {0}, b2[LANES_MAX] = {0}, b3[LANES_MAX] = {0};
    for (int p = 0; p < j; p++) {
        const float *la = work + ra + p * L, *lb = work + rb + p * L;
        const float *c0 = work + r0 + p * L, *c1 = work + r1 + p * L, *c2 = work + r2 + p * L, *c3 = work + r3 + p * L;
        for (int l = 0; l < L; l++) {
            a0[l] += la[l] * c0[l]; a1[l] += la[l] * c1[l]; a2[l] += la[l] * c2[l]; a3[l] += la[l] * c3[l];
            b0[l] += lb[l] * c0[l]; b1[l] += lb[l] * c1[l]; b2[l] += lb[l] * c2[l]; b3[l] += lb[l] * c3[l];
        }
    }
    for (int l = 0; l < L; l++) {
        work[ra + j * L + l] -= a0[l]; work[ra + (j + 1) * L + l] -= a1[l];
        work[ra + (j + 2) * L + l] -= a2[l]; work[ra + (j + 3) * L + l] -= a3[l];
        work[rb + j * L + l] -= b0[l]; work[rb + (j + 1) * L + l] -= b1[l];
        work[rb + (j + 2) * L + l] -= b2[l]; work[rb + (j + 3) * L + l] -= b3[l];
    }
}

/* L[r][j..j+3] once tile_sums took the columns before j off: the small triangle inside the tile. */
static inline __attribute__((always_inline)) void tile_triangle(float *restrict work, int ri, int j, int diag,
        const int L) {
    int r0 = j * (j + 1) / 2 * L, r1 = r0 + (j + 1) * L, r2 = r1 + (j + 2) * L, r3 = r2 + (j + 3) * L;
    for (int l = 0; l < L; l++) {
        float l0 = work[ri + j * L + l] * work[diag + j * L + l];
        work[ri + j * L + l] = l0;
        float l1 = (work[ri + (j + 1) * L + l] - l0 * work[r1 + j * L + l]) * work[diag + (j + 1) * L + l];
        work[ri + (j + 1) * L + l] = l1;
        float l2 = (work[ri + (j + 2) * L + l] - l0 * work[r2 + j * L + l] - l1 * work[r2 + (j + 1) * L + l])
                * work[diag + (j + 2) * L + l];
        work[ri + (j + 2) * L + l] = l2;
        work[ri + (j + 3) * L + l] = (work[ri + (j + 3) * L + l] - l0 * work[r3 + j * L + l]
                - l1 * work[r3 + (j + 1) * L + l] - l2 * work[r3 + (j + 2) * L + l]) * work[diag + (j + 3) * L + l];
    }
    (void) r0;
}

/* Row i's columns [j0, i) one at a time, then its diagonal; 0 when a pivot is not positive. */
static inline __attribute__((always_inline)) int row_rest(float *restrict work, int i, int j0, int diag, const int L) {
    int ri = i * (i + 1) / 2 * L;
    float acc[LANES_MAX];
    for (int j = j0; j <= i; j++) {
        int rj = j * (j + 1) / 2 * L;
        for (int l = 0; l < L; l++) acc[l] = 0.0f;
        for (int p = 0; p < j; p++) {
            const float *a = work + ri + p * L;
            const float *b = work + rj + p * L;
            for (int l = 0; l < L; l++) acc[l] += a[l] * b[l];
        }
        if (j < i) {
            for (int l = 0; l < L; l++) work[ri + j * L + l] = (work[ri + j * L + l] - acc[l]) * work[diag + j * L + l];
        } else {
            int ok = 1;
            for (int l = 0; l < L; l++) {
                float d = work[ri + i * L + l] - acc[l];
                ok &= d > 0.0f;
                d = sqrtf(d);
                work[ri + i * L + l] = d;
                work[diag + i * L + l] = 1.0f / d;
            }
            if (!ok) return 0;
        }
    }
    return 1;
}

static inline __attribute__((always_inline)) int spd_solve_batch(const float *restrict gram, int stride,
        const int32_t *restrict q, int k, float *restrict rhs, float *restrict work, const int L) {
    int diag = k * (k + 1) / 2 * L;
    for (int x = 0; x < k; x++) {
        int row = x * (x + 1) / 2 * L;
        for (int y = 0; y <= x; y++) {
            for (int l = 0; l < L; l++) {
                int qx = q[x * L + l], qy = q[y * L + l];
                work[row + y * L + l] = (qx < 0 || qy < 0) ? (x == y ? 1.0f : 0.0f) : gram[qx * stride + qy];
            }
        }
    }
    float acc[LANES_MAX];
    int i = 0;
    for (; i + 1 < k; i += 2) { /* rows in pairs, columns four at a time: the Java kernel's 2x4 tile */
        int ra = i * (i + 1) / 2 * L;
        int rb = ra + (i + 1) * L;
        int j = 0;
        for (; j + 4 <= i; j += 4) {
            tile_sums(work, ra, rb, j, L);
            tile_triangle(work, ra, j, diag, L);
            tile_triangle(work, rb, j, diag, L);
        }
        if (!row_rest(work, i, j, diag, L) || !row_rest(work, i + 1, j, diag, L)) return 0;
    }
    if (i < k && !row_rest(work, i, 0, diag, L)) return 0;
    for (int i = 0; i < k; i++) {
        int ri = i * (i + 1) / 2 * L;
        for (int l = 0; l < L; l++) acc[l] = 0.0f;
        for (int p = 0; p < i; p++)
            for (int l = 0; l < L; l++) acc[l] += work[ri + p * L + l] * rhs[p * L + l];
        for (int l = 0; l < L; l++) rhs[i * L + l] = (rhs[i * L + l] - acc[l]) * work[diag + i * L + l];
    }
    for (int i = k - 1; i >= 0; i--) {
        for (int l = 0; l < L; l++) acc[l] = 0.0f;
        for (int p = i + 1; p < k; p++) {
            const float *a = work + (p * (p + 1) / 2 + i) * L;
            for (int l = 0; l < L; l++) acc[l] += a[l] * rhs[p * L + l];
        }
        for (int l = 0; l < L; l++) rhs[i * L + l] = (rhs[i * L + l] - acc[l]) * work[diag + i * L + l];
    }
    return 1;
}

/* The lane count as a compile-time constant for the widths Java uses, so gcc vectorises the lane loops. */
int tj_spd_solve_batch(const float *restrict gram, int stride, const int32_t *restrict q, int k,
                       float *restrict rhs, float *restrict work, int lanes) {
    switch (lanes) {
    case 16: return spd_solve_batch(gram, stride, q, k, rhs, work, 16);
    case 8: return spd_solve_batch(gram, stride, q, k, rhs, work, 8);
    default: return spd_solve_batch(gram, stride, q, k, rhs, work, 4);
    }
}

void tj_reverse(const float *restrict src, float *restrict dst, int n) {
    for (int i = 0; i < n; i++) {
        dst[i] = src[n - 1 - i];
    }
}

/* y = A x for L vectors side by side (see Kernels.multiplyBatch); A is n x n, row-major. */
static inline __attribute__((always_inline)) void multiply_batch(const float *restrict a, int n,
        const float *restrict x, float *restrict y, const int L) {
    int i = 0;
    for (; i + 4 <= n; i += 4) { /* four rows share each load of x, as the Java kernel does */
        float acc0[LANES_MAX] = {0}, acc1[LANES_MAX] = {0}, acc2[LANES_MAX] = {0}, acc3[LANES_MAX] = {0};
        for (int j = 0; j < n; j++) {
            const float *xj = x + j * L;
            const float a0 = a[i * n + j], a1 = a[(i + 1) * n + j], a2 = a[(i + 2) * n + j], a3 = a[(i + 3) * n + j];
            for (int l = 0; l < L; l++) {
                acc0[l] += a0 * xj[l];
                acc1[l] += a1 * xj[l];
                acc2[l] += a2 * xj[l];
                acc3[l] += a3 * xj[l];
            }
        }
        for (int l = 0; l < L; l++) {
            y[i * L + l] = acc0[l];
            y[(i + 1) * L + l] = acc1[l];
            y[(i + 2) * L + l] = acc2[l];
            y[(i + 3) * L + l] = acc3[l];
        }
    }
    for (; i < n; i++) {
        float acc[LANES_MAX] = {0};
        for (int j = 0; j < n; j++) {
            const float aij = a[i * n + j];
            const float *xj = x + j * L;
            for (int l = 0; l < L; l++) acc[l] += aij * xj[l];
        }
        for (int l = 0; l < L; l++) y[i * L + l] = acc[l];
    }
}

void tj_multiply_batch(const float *restrict a, int n, const float *restrict x, float *restrict y, int lanes) {
    switch (lanes) {
    case 16: multiply_batch(a, n, x, y, 16); break;
    case 8: multiply_batch(a, n, x, y, 8); break;
    default: multiply_batch(a, n, x, y, 4); break;
    }
}

void tj_subtract_scaled(float *restrict y, const float *restrict x, float a, int n) {
    for (int i = 0; i < n; i++) {
        y[i] -= a * x[i];
    }
}

/* Reductions: 4 x 16 float accumulators (the same association as the Java kernels, which gcc will not
   reorder on its own without -ffast-math). */
double tj_dot(const float *restrict a, const float *restrict b, int n) {
    float acc[64] = {0};
    int i = 0;
    for (; i + 64 <= n; i += 64)
        for (int l = 0; l < 64; l++) acc[l] += a[i + l] * b[i + l];
    double s = 0;
    for (int l = 0; l < 64; l++) s += acc[l];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

double tj_sum_squared_difference(const float *restrict a, const float *restrict b, int n) {
    float acc[64] = {0};
    int i = 0;
    for (; i + 64 <= n; i += 64)
        for (int l = 0; l < 64; l++) {
            float d = a[i + l] - b[i + l];
            acc[l] += d * d;
        }
    double s = 0;
    for (int l = 0; l < 64; l++) s += acc[l];
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}
