#include "chaos/gpu_fault.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "chaos/gpu/nvml.h"
#include "chaos/state.h"

namespace llmrca::chaos {
namespace {

class GpuPowerCapFault : public Fault {
 public:
  GpuPowerCapFault(unsigned device, double watts, std::string library,
                   std::vector<std::string> restore_prefix, FaultRecord d)
      : Fault(std::move(d)),
        device_(device),
        watts_(watts),
        library_(std::move(library)),
        restore_prefix_(std::move(restore_prefix)) {}

  std::vector<std::string> Plan() const override {
    gpu::GpuResult<std::unique_ptr<gpu::Nvml>> nvml = gpu::Nvml::Open(library_);
    if (!nvml.ok()) {
      return {fmt::format("set the power limit of GPU {} to {} W, then restore the limit read "
                          "before (NVML cannot be read here: {})",
                          device_, watts_, nvml.error().message)};
    }
    gpu::GpuResult<gpu::PowerCapPlan> plan = gpu::PlanPowerCap(**nvml, device_, watts_);
    if (!plan.ok()) return {"refused: " + plan.error().message};
    return gpu::PowerCapActions(*plan);
  }

  Status Inject(const std::string& journal, const std::string& id) override {
    gpu::GpuResult<std::unique_ptr<gpu::Nvml>> nvml = gpu::Nvml::Open(library_);
    LLMRCA_RETURN_IF_ERROR(FromGpu(nvml.status()));
    nvml_ = std::move(nvml).value();
    gpu::GpuResult<gpu::PowerCapPlan> plan = gpu::PlanPowerCap(*nvml_, device_, watts_);
    LLMRCA_RETURN_IF_ERROR(FromGpu(plan.status()));
    plan_ = *plan;
    record_.target = fmt::format("GPU {} ({}, {})", plan_.device, plan_.name, plan_.uuid);
    SetParam(record_, "previous_limit_w", plan_.previous_limit_mw / 1000.0);
    SetParam(record_, "default_limit_w", plan_.default_limit_mw / 1000.0);
    SetParam(record_, "min_limit_w", plan_.min_limit_mw / 1000.0);
    SetParam(record_, "max_limit_w", plan_.max_limit_mw / 1000.0);
    std::vector<std::string> restore = restore_prefix_;
    restore.insert(restore.end(),
                   {"--uuid", plan_.uuid, "--limit-mw", std::to_string(plan_.previous_limit_mw)});
    LLMRCA_RETURN_IF_ERROR(JournalAdd(journal, MakeUndo(id, "run", 0, record_.target, restore)));
    return FromGpu(gpu::ApplyPowerCap(*nvml_, plan_));
  }

  Status Restore() override {
    const Status restored = FromGpu(gpu::RestorePowerCap(*nvml_, plan_));
    gpu::GpuStatus closed = nvml_->Close();
    (void)closed;  // the limit is what matters; NVML's shutdown result changes nothing
    nvml_.reset();
    return restored;
  }

 private:
  unsigned device_;
  double watts_;
  std::string library_;
  std::vector<std::string> restore_prefix_;
  std::unique_ptr<gpu::Nvml> nvml_;
  gpu::PowerCapPlan plan_;
};

}  // namespace

Status FromGpu(const gpu::GpuStatus& status) {
  if (status.ok()) return Status::Ok();
  const gpu::GpuError& e = status.error();
  switch (e.code) {
    case gpu::GpuErrorCode::kInvalidArgument: return Status::InvalidArgument(e.message);
    case gpu::GpuErrorCode::kNotFound: return Status::NotFound(e.message);
    case gpu::GpuErrorCode::kUnavailable:
    case gpu::GpuErrorCode::kPermissionDenied: return Status::Unavailable(e.message);
    case gpu::GpuErrorCode::kInternal: break;
  }
  return Status::Internal(e.message);
}

std::unique_ptr<Fault> MakeGpuPowerCapFault(unsigned device, double watts, std::string nvml_library,
                                            std::vector<std::string> restore_prefix,
                                            FaultRecord description) {
  return std::make_unique<GpuPowerCapFault>(device, watts, std::move(nvml_library),
                                            std::move(restore_prefix), std::move(description));
}

Status RestoreGpuPowerLimit(const std::string& uuid, unsigned limit_mw,
                            const std::string& nvml_library) {
  gpu::GpuResult<std::unique_ptr<gpu::Nvml>> nvml = gpu::Nvml::Open(nvml_library);
  LLMRCA_RETURN_IF_ERROR(FromGpu(nvml.status()));
  gpu::GpuResult<unsigned> index = (*nvml)->FindByUuid(uuid);
  LLMRCA_RETURN_IF_ERROR(FromGpu(index.status()));
  return FromGpu((*nvml)->SetPowerLimitMilliwatts(*index, limit_mw));
}

}  // namespace llmrca::chaos
