#include "stats/dense.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include <Eigen/Eigenvalues>
#include <fmt/format.h>

#ifdef LLMRCA_HAVE_OPENBLAS
#include <cstddef>

// The Fortran BLAS/LAPACK interface (column-major, every argument by pointer, the lengths of
// character arguments passed last as gfortran does) and OpenBLAS's own controls. Declared here
// rather than taken from cblas.h, whose location differs between OpenBLAS variants.
extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc, std::size_t transa_len,
            std::size_t transb_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork, int* info,
             std::size_t jobz_len, std::size_t uplo_len);
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}
#endif

namespace llmrca::stats {
namespace {

#ifdef LLMRCA_HAVE_OPENBLAS
// OpenBLAS starts one thread per core by default. llmrca parallelises above it (cases, blocks),
// so its own threads would only oversubscribe the cores; one call sets that once per process.
void UseOneBlasThread() {
  static std::once_flag once;  // the only process-wide state: OpenBLAS's own setting
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
#endif

}  // namespace

std::string DenseBackendName() {
#ifdef LLMRCA_HAVE_OPENBLAS
  return fmt::format("openblas ({})", openblas_get_config());
#else
  return "eigen";
#endif
}

void Gemm(bool transpose_a, bool transpose_b, double alpha,
          const Eigen::Ref<const Eigen::MatrixXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& b,
          double beta, Eigen::Ref<Eigen::MatrixXd> c) {
  const Eigen::Index m = c.rows(), n = c.cols();
  const Eigen::Index k = transpose_a ? a.rows() : a.cols();
  eigen_assert((transpose_a ? a.cols() : a.rows()) == m);
  eigen_assert((transpose_b ? b.cols() : b.rows()) == k && (transpose_b ? b.rows() : b.cols()) == n);
  if (m == 0 || n == 0) return;
#ifdef LLMRCA_HAVE_OPENBLAS
  if (k > 0) {
    UseOneBlasThread();
    const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
    const int lda = static_cast<int>(std::max<Eigen::Index>(1, a.outerStride()));
    const int ldb = static_cast<int>(std::max<Eigen::Index>(1, b.outerStride()));
    const int ldc = static_cast<int>(std::max<Eigen::Index>(1, c.outerStride()));
    const char ta = transpose_a ? 'T' : 'N', tb = transpose_b ? 'T' : 'N';
    dgemm_(&ta, &tb, &mi, &ni, &ki, &alpha, a.data(), &lda, b.data(), &ldb, &beta, c.data(), &ldc,
           1, 1);
    return;
  }
#endif
  if (beta == 0) {
    c.setZero();
  } else if (beta != 1) {
    c *= beta;
  }
  if (k == 0) return;
  if (transpose_a && transpose_b) {
    c.noalias() += alpha * a.transpose() * b.transpose();
  } else if (transpose_a) {
    c.noalias() += alpha * a.transpose() * b;
  } else if (transpose_b) {
    c.noalias() += alpha * a * b.transpose();
  } else {
    c.noalias() += alpha * a * b;
  }
}

Result<SymmetricEigenResult> SymmetricEigen(const Eigen::MatrixXd& m) {
  if (m.rows() != m.cols()) {
    return Status::DataError(
        fmt::format("eigen: matrix is {}x{}, need a square one", m.rows(), m.cols()));
  }
  if (!m.allFinite()) return Status::DataError("eigen: matrix has a non-finite value");
  SymmetricEigenResult out;
  if (m.rows() == 0) return out;
#ifdef LLMRCA_HAVE_OPENBLAS
  UseOneBlasThread();
  const int n = static_cast<int>(m.rows());
  out.vectors = m;
  out.values.resize(n);
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "L", &n, out.vectors.data(), &n, out.values.data(), &work_query, &lwork,
          &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) return Status::Internal(fmt::format("eigen: dsyevd workspace query: info {}", info));
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  // Uninitialised workspace: for d = 200 it is 650 KB that zeroing would only waste.
  const auto work = std::make_unique_for_overwrite<double[]>(static_cast<size_t>(std::max(1, lwork)));
  const auto iwork = std::make_unique_for_overwrite<int[]>(static_cast<size_t>(std::max(1, liwork)));
  dsyevd_("V", "L", &n, out.vectors.data(), &n, out.values.data(), work.get(), &lwork,
          iwork.get(), &liwork, &info, 1, 1);
  if (info != 0) {
    return Status::DataError(fmt::format("eigen: dsyevd did not converge (info {})", info));
  }
  return out;
#else
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m);
  if (eig.info() != Eigen::Success) return Status::DataError("eigen: did not converge");
  out.values = eig.eigenvalues();
  out.vectors = eig.eigenvectors();
  return out;
#endif
}

}  // namespace llmrca::stats
