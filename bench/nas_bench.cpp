// Training speed of the ranking-model trainer (issue 14: examples/s/core for DLRM at the default
// sizes; docs/BENCHMARKS.md records the results). Each iteration trains one baseline for one epoch
// on 100,000 examples of the default synthetic spec, on one intra-op thread, and scores 10,000
// validation examples; the counter is training examples per second of the training loop.
#include <benchmark/benchmark.h>

#include "rec/baselines.h"
#include "rec/synthetic.h"
#include "rec/train.h"

namespace {

using namespace scaleplan;

const rec::CtrData& Data() {
  static const rec::CtrData data = [] {
    rec::SyntheticSpec spec = *rec::LoadSyntheticSpec("default");
    spec.train = 100000;
    spec.valid = 10000;
    spec.test = 1;
    return *rec::GenerateSynthetic(spec, "synthetic:default (100k)");
  }();
  return data;
}

void TrainOnce(benchmark::State& state, const char* name) {
  const rec::CtrData& data = Data();
  rec::Arch arch = *rec::MakeBaseline(name, rec::InputOf(data));
  rec::TrainOptions options;
  options.evaluate_test = false;
  double examples = 0, seconds = 0;
  for (auto _ : state) {
    Result<rec::TrainResult> r = rec::Train(arch, data, options);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    examples += static_cast<double>(r->examples);
    seconds += r->train_s;
  }
  state.counters["examples_per_s"] = seconds > 0 ? examples / seconds : 0;
}

void BM_TrainDlrmS(benchmark::State& state) { TrainOnce(state, "dlrm-s"); }
void BM_TrainDlrmM(benchmark::State& state) { TrainOnce(state, "dlrm-m"); }
void BM_TrainDlrmL(benchmark::State& state) { TrainOnce(state, "dlrm-l"); }
void BM_TrainDcnv2M(benchmark::State& state) { TrainOnce(state, "dcnv2-m"); }
void BM_TrainDeepfmM(benchmark::State& state) { TrainOnce(state, "deepfm-m"); }
void BM_TrainAutointM(benchmark::State& state) { TrainOnce(state, "autoint-m"); }

}  // namespace

BENCHMARK(BM_TrainDlrmS)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDlrmM)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDlrmL)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDcnv2M)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDeepfmM)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainAutointM)->Unit(benchmark::kSecond)->Iterations(1);
