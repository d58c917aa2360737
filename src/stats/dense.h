// Dense kernels for the hot loops of FastICA: a general matrix product and a symmetric
// eigendecomposition. They run on OpenBLAS (its BLAS and LAPACK, picked for this CPU at run time)
// when the build found it, else on Eigen, whose kernels are compiled for the baseline x86-64
// (SSE2) and are 3-5x slower at these sizes. Results agree to rounding either way.
#pragma once

#include <string>

#include <Eigen/Core>

#include "base/status.h"

namespace llmrca::stats {

// "openblas <version and kernel>" or "eigen": what the two kernels below run on.
std::string DenseBackendName();

// c = alpha * op(a) * op(b) + beta * c, with op(m) = m' when the flag says so. The shapes must
// agree (checked in debug builds only, as Eigen's products are). Always single-threaded inside:
// callers parallelise over blocks themselves, so that results never depend on a thread count.
// Thread-safe for distinct outputs.
void Gemm(bool transpose_a, bool transpose_b, double alpha,
          const Eigen::Ref<const Eigen::MatrixXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& b,
          double beta, Eigen::Ref<Eigen::MatrixXd> c);

struct SymmetricEigenResult {
  Eigen::VectorXd values;   // ascending
  Eigen::MatrixXd vectors;  // orthonormal columns, vectors.col(i) for values(i)
};

// Eigendecomposition of the symmetric matrix m (only its lower triangle is read). kDataError
// when m is not square or not finite, or when LAPACK reports that it did not converge.
Result<SymmetricEigenResult> SymmetricEigen(const Eigen::MatrixXd& m);

}  // namespace llmrca::stats
