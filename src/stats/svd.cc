#include "stats/svd.h"

#include <Eigen/SVD>

namespace llmrca::stats {

namespace {

template <typename Svd>
ThinSvdResult Decompose(const Eigen::MatrixXd& m, bool want_u, bool want_v) {
  const unsigned int options =
      (want_u ? unsigned{Eigen::ComputeThinU} : 0u) | (want_v ? unsigned{Eigen::ComputeThinV} : 0u);
  Svd svd(m, options);
  ThinSvdResult out;
  out.values = svd.singularValues();
  if (want_u) out.u = svd.matrixU();
  if (want_v) out.v = svd.matrixV();
  return out;
}

}  // namespace

ThinSvdResult ThinSvd(const Eigen::MatrixXd& m, bool want_u, bool want_v) {
  return Decompose<Eigen::BDCSVD<Eigen::MatrixXd>>(m, want_u, want_v);
}

ThinSvdResult JacobiThinSvd(const Eigen::MatrixXd& m, bool want_u, bool want_v) {
  return Decompose<Eigen::JacobiSVD<Eigen::MatrixXd>>(m, want_u, want_v);
}

}  // namespace llmrca::stats
