#include "sim/case_writer.h"

#include <cmath>
#include <algorithm>
#include <limits>
#include <system_error>

#include <fmt/format.h>

namespace llmrca::sim {

namespace fs = std::filesystem;

CaseWriter::CaseWriter(fs::path dir, std::vector<std::string> tracked, double step_s,
                       bool seed_quirks)
    : dir_(std::move(dir)),
      tracked_names_(std::move(tracked)),
      step_s_(step_s),
      seed_quirks_(seed_quirks) {}

Status CaseWriter::Open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    return Status::IoError(fmt::format("sim: cannot create {}: {}", dir_.string(), ec.message()));
  }
  LLMRCA_RETURN_IF_ERROR(data_.Open(dir_ / "data.csv"));
  LLMRCA_RETURN_IF_ERROR(logs_.Open(dir_ / "logs.csv"));
  LLMRCA_RETURN_IF_ERROR(traces_.Open(dir_ / "traces.csv"));
  const std::vector<std::string> log_header = {"time", "container_name", "message"};
  logs_.Row(log_header);
  const std::vector<std::string> trace_header = {
      "time",     "traceID",       "spanID",   "parentSpanID", "serviceName",
      "methodName", "operationName", "duration", "statusCode",   "startTime"};
  traces_.Row(trace_header);
  return Status::Ok();
}

Status CaseWriter::OnColumns(const std::vector<ColumnSpec>& columns) {
  columns_ = columns;
  std::vector<std::string> header = {"time"};
  int numeric = 0;
  std::map<std::string, int> numeric_index;
  for (const ColumnSpec& c : columns) {
    header.push_back(c.name);
    if (c.kind == ColumnKind::kNumber) numeric_index[c.name] = numeric++;
  }
  data_.Row(header);
  for (const std::string& name : tracked_names_) {
    auto it = numeric_index.find(name);
    tracked_index_.push_back(it == numeric_index.end() ? -1 : it->second);
    tracked_values_.emplace_back();
  }
  return Status::Ok();
}

Status CaseWriter::OnRow(double time, std::span<const double> numbers) {
  data_.Time(time);
  size_t k = 0;
  for (const ColumnSpec& c : columns_) {
    if (c.kind == ColumnKind::kText) {
      data_.Text(c.text);
    } else {
      data_.Number(k < numbers.size() ? numbers[k] : std::numeric_limits<double>::quiet_NaN());
      ++k;
    }
  }
  data_.EndRow();
  row_times_.push_back(time);
  for (size_t i = 0; i < tracked_index_.size(); ++i) {
    const int idx = tracked_index_[i];
    tracked_values_[i].push_back(idx >= 0 && static_cast<size_t>(idx) < numbers.size()
                                     ? numbers[static_cast<size_t>(idx)]
                                     : std::numeric_limits<double>::quiet_NaN());
  }
  return Status::Ok();
}

const std::vector<double>& CaseWriter::Tracked(const std::string& name) const {
  static const std::vector<double> kEmpty;
  for (size_t i = 0; i < tracked_names_.size(); ++i) {
    if (tracked_names_[i] == name && tracked_index_[i] >= 0) return tracked_values_[i];
  }
  return kEmpty;
}

int64_t CaseWriter::Window(double t) const {
  return static_cast<int64_t>(std::floor(t / step_s_ + 1e-9));
}

Status CaseWriter::OnLog(double time, const std::string& container, const std::string& message) {
  logs_.Time(time);
  logs_.Text(container);
  logs_.Text(message);
  logs_.EndRow();
  log_counts_[Window(time)][container] += 1;
  return Status::Ok();
}

void CaseWriter::AddSpan(double start, double end, const std::string& service, uint64_t trace,
                         uint64_t span, uint64_t parent, int status) {
  const double duration_us = std::max(0.0, (end - start) * 1e6);
  traces_.Time(start);
  traces_.Text(fmt::format("{:032x}", trace));
  traces_.Text(fmt::format("{:016x}", span));
  traces_.Text(parent == 0 ? std::string() : fmt::format("{:016x}", parent));
  traces_.Text(service);
  traces_.Text("POST");
  traces_.Text("/v1/chat/completions");
  traces_.Number(std::round(duration_us));
  traces_.Number(status);
  traces_.Number(std::round(start * 1e6));
  traces_.EndRow();
  SpanAgg& agg = span_counts_[Window(start)][service + "_chat-completions"];
  if (status >= 200 && status < 300) {
    agg.ok += 1;
  } else {
    agg.err += 1;
  }
  agg.ms += duration_us / 1000;
}

std::vector<double> CaseWriter::LatencySli(double window_s, double failure_s) const {
  std::vector<double> out;
  std::vector<double> in_window;
  size_t first = 0;
  for (double t : row_times_) {
    // request_latency_ is in completion order of the engine; client end times are close to
    // sorted but not exactly, so scan a margin behind the window.
    while (first < request_latency_.size() && request_latency_[first].first <= t - window_s - 60) {
      ++first;
    }
    in_window.clear();
    for (size_t i = first; i < request_latency_.size(); ++i) {
      const auto& [end, latency] = request_latency_[i];
      if (end > t - window_s && end <= t) in_window.push_back(latency < 0 ? failure_s : latency);
    }
    if (in_window.empty()) {
      out.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const size_t k = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(in_window.size()))) - 1;
    std::nth_element(in_window.begin(), in_window.begin() + static_cast<std::ptrdiff_t>(k),
                     in_window.end());
    out.push_back(in_window[k]);
  }
  return out;
}

Status CaseWriter::OnRequest(const RequestRecord& r) {
  request_latency_.emplace_back(r.t_client_done,
                                r.status == 200 ? r.t_client_done - r.t_arrival : -1.0);
  // W3C-style ids derived from the request id: deterministic and unique within the case.
  const uint64_t trace = r.id * 0x9E3779B97F4A7C15ULL;
  const uint64_t root = trace ^ 0x1111;
  const uint64_t head = trace ^ 0x2222;
  const uint64_t engine = trace ^ 0x3333;
  const double client_end = std::isnan(r.t_nginx_done) ? r.t_client_done : r.t_nginx_done;
  AddSpan(r.t_arrival, client_end, "nginx-proxy", trace, root, 0, r.status);
  if (!std::isnan(r.t_head)) {
    const double end = std::isnan(r.t_head_done) ? client_end : r.t_head_done;
    AddSpan(r.t_head, end, "ray-head", trace, head, root, r.status);
    if (!std::isnan(r.t_replica) && !r.engine.empty()) {
      AddSpan(r.t_replica, r.t_engine_done, r.engine, trace, engine, head, r.status);
    }
  }
  return Status::Ok();
}

Status CaseWriter::Finish(const std::vector<std::string>& components) {
  LLMRCA_RETURN_IF_ERROR(data_.Close());
  LLMRCA_RETURN_IF_ERROR(logs_.Close());
  LLMRCA_RETURN_IF_ERROR(traces_.Close());
  // logts.csv: log lines per container per step window, one row per data row (seed A.6).
  {
    data::CsvWriter w;
    LLMRCA_RETURN_IF_ERROR(w.Open(dir_ / "logts.csv"));
    std::vector<std::string> header = {"time"};
    header.insert(header.end(), components.begin(), components.end());
    w.Row(header);
    for (double t : row_times_) {
      w.Time(t);
      auto it = log_counts_.find(Window(t));
      for (const std::string& c : components) {
        double n = 0;
        if (it != log_counts_.end()) {
          auto jt = it->second.find(c);
          if (jt != it->second.end()) n = jt->second;
        }
        w.Number(n);
      }
      w.EndRow();
    }
    LLMRCA_RETURN_IF_ERROR(w.Close());
  }
  // tracets_lat.csv / tracets_err.csv: per window and <service>_<operation>.
  std::vector<std::string> ops;
  for (const std::string& c : components) ops.push_back(c + "_chat-completions");
  for (const bool errors : {false, true}) {
    data::CsvWriter w;
    LLMRCA_RETURN_IF_ERROR(w.Open(dir_ / (errors ? "tracets_err.csv" : "tracets_lat.csv")));
    std::vector<std::string> header = {"time"};
    header.insert(header.end(), ops.begin(), ops.end());
    w.Row(header);
    for (double t : row_times_) {
      w.Time(t);
      auto it = span_counts_.find(Window(t));
      for (const std::string& op : ops) {
        SpanAgg agg;
        if (it != span_counts_.end()) {
          auto jt = it->second.find(op);
          if (jt != it->second.end()) agg = jt->second;
        }
        if (errors) {
          w.Number(agg.err);
        } else if (seed_quirks_) {
          w.Number(agg.ok);  // the study's tracets_lat holds counts of 2xx spans (rcaeval §5)
        } else {
          const double n = agg.ok + agg.err;
          w.Number(n > 0 ? agg.ms / n : std::numeric_limits<double>::quiet_NaN());
        }
      }
      w.EndRow();
    }
    LLMRCA_RETURN_IF_ERROR(w.Close());
  }
  // mpg.csv: service edges and container -> node edges (MicroRCA's attributed graph, seed A.5).
  {
    data::CsvWriter w;
    LLMRCA_RETURN_IF_ERROR(w.Open(dir_ / "mpg.csv"));
    const std::vector<std::string> header = {"source", "destination"};
    w.Row(header);
    for (size_t i = 1; i < components.size(); ++i) {
      // nginx-proxy -> ray-head, then ray-head -> every replica.
      const std::vector<std::string> edge = {i == 1 ? components[0] : components[1],
                                             components[i]};
      w.Row(edge);
    }
    for (const ColumnSpec& c : columns_) {
      const std::string suffix = "_node_name";
      if (c.kind != ColumnKind::kText || c.name.size() <= suffix.size() ||
          c.name.compare(c.name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      const std::vector<std::string> edge = {c.name.substr(0, c.name.size() - suffix.size()),
                                             c.text};
      w.Row(edge);
    }
    LLMRCA_RETURN_IF_ERROR(w.Close());
  }
  return Status::Ok();
}

}  // namespace llmrca::sim
