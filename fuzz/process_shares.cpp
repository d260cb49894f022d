// A peer's share of a split search (search.h, SearchOptions::processes; what MPI delivers from
// another rank): rank 1's bytes are the input, behind the tag rank 0 sent, so the harness reaches
// the share's decoding. An accepted share merges into a search result whose plans are in the
// space, finite and in order; anything else is one error line.
#include "core/processes.h"
#include "fuzz/fuzz_check.h"
#include "search/search.h"
#include "spec/readers.h"

using namespace scaleplan;

namespace {

class Peer final : public Processes {
 public:
  explicit Peer(std::string_view bytes) : bytes_(bytes) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string_view transport() const override { return "fuzz"; }

 protected:
  Result<std::vector<std::string>> Exchange(const std::string& mine) const override {
    WireReader in(mine, "rank 0's share");
    Result<std::string> tag = in.Text();
    if (!tag.ok()) fuzz::Fail("own share", tag.status().message());
    WireWriter peer;
    peer.Text(*tag);
    peer.Text(bytes_);
    return std::vector<std::string>{mine, peer.Take()};
  }

 private:
  std::string bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const spec::JobSpec job = [] {
    spec::JobSpec j;
    j.model = spec::LoadModel("llama3-8b").value();
    j.cluster = spec::LoadCluster("dgx-h100-ib").value();
    j.gpus = 16;
    j.workload.seq_len = 4096;
    j.workload.global_batch = 64;
    return j;
  }();
  static const search::SearchSpace space = [] {
    search::SearchSpace s = search::DefaultSpace(job);
    s.cp = {1, 2};
    s.pp = {1, 2};
    s.vp = {1};
    s.placement.resize(1);
    return s;
  }();
  const Peer peer(fuzz::AsText(data, size));
  search::SearchOptions options;
  options.processes = &peer;
  options.threads = 1;
  options.top_k = 5;
  options.rerank_with_events = false;
  Result<search::SearchResult> r = search::Search(job, space, options);
  fuzz::CheckError(r);
  if (!r.ok()) return 0;
  if (r->top.size() > 5) fuzz::Fail("top", "more plans than top_k");
  for (size_t i = 0; i < r->top.size(); ++i) {
    const search::Evaluation& e = r->top[i];
    fuzz::CheckPositive(e.step.step_time_s, "step_time_s");
    fuzz::CheckPositive(e.peak_bytes_per_gpu, "peak_bytes_per_gpu");
    for (int d = 0; d < search::kDimensions; ++d) {
      if (e.candidate[static_cast<size_t>(d)] >= space.Count(d)) fuzz::Fail("candidate", "outside");
    }
    if (i > 0 && r->top[i - 1].step.step_time_s > e.step.step_time_s) {
      fuzz::Fail("top", "out of order");
    }
  }
  return 0;
}
