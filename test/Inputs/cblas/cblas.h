// A naive stand-in for a CBLAS library, so that the GRADC_USE_CBLAS path of
// emitted C++ can be compiled and checked without one. Only what gradc emits:
// row-major ?gemm, ?gemv and ?dot.
#ifndef GRADC_TEST_CBLAS_H
#define GRADC_TEST_CBLAS_H

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };

template <typename T>
void naiveGemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
               T alpha, const T *a, int lda, const T *b, int ldb, T beta, T *c,
               int ldc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int p = 0; p < k; ++p)
        acc += double(ta == CblasTrans ? a[p * lda + i] : a[i * lda + p]) *
               (tb == CblasTrans ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = T(alpha * acc + beta * c[i * ldc + j]);
    }
}

inline void cblas_dgemm(CBLAS_ORDER, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb,
                        int m, int n, int k, double alpha, const double *a,
                        int lda, const double *b, int ldb, double beta,
                        double *c, int ldc) {
  naiveGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void cblas_sgemm(CBLAS_ORDER, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb,
                        int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c,
                        int ldc) {
  naiveGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
// y = op(A) x with A stored as m x n.
template <typename T>
void naiveGemv(CBLAS_TRANSPOSE t, int m, int n, T alpha, const T *a, int lda,
               const T *x, T beta, T *y) {
  int rows = t == CblasTrans ? n : m, cols = t == CblasTrans ? m : n;
  for (int i = 0; i < rows; ++i) {
    double acc = 0;
    for (int p = 0; p < cols; ++p)
      acc += double(t == CblasTrans ? a[p * lda + i] : a[i * lda + p]) * x[p];
    y[i] = T(alpha * acc + beta * y[i]);
  }
}
inline void cblas_dgemv(CBLAS_ORDER, CBLAS_TRANSPOSE t, int m, int n,
                        double alpha, const double *a, int lda, const double *x,
                        int, double beta, double *y, int) {
  naiveGemv(t, m, n, alpha, a, lda, x, beta, y);
}
inline void cblas_sgemv(CBLAS_ORDER, CBLAS_TRANSPOSE t, int m, int n,
                        float alpha, const float *a, int lda, const float *x,
                        int, float beta, float *y, int) {
  naiveGemv(t, m, n, alpha, a, lda, x, beta, y);
}
inline double cblas_ddot(int n, const double *x, int, const double *y, int) {
  double acc = 0;
  for (int i = 0; i < n; ++i)
    acc += x[i] * y[i];
  return acc;
}
inline float cblas_sdot(int n, const float *x, int, const float *y, int) {
  float acc = 0;
  for (int i = 0; i < n; ++i)
    acc += x[i] * y[i];
  return acc;
}

#endif
