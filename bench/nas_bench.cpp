// Training speed of the ranking-model trainer (issue 14: examples/s/core for DLRM at the default
// sizes; docs/BENCHMARKS.md records the results). Each iteration trains one baseline for one epoch
// on 100,000 examples of the default synthetic spec, on one intra-op thread, and scores 10,000
// validation examples; the counter is training examples per second of the training loop.
// BM_SupernetOneShotSteps: the one-shot search's supernet steps at the same speed measure.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "nas/space.h"
#include "rec/baselines.h"
#include "rec/supernet.h"
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

// The supernet (rec/supernet.h) as the one-shot search drives it: each step trains a random
// subnet of the scratch space and the space's reference model on the same batch; 390 steps
// (100,000 examples, each seen by both). The counter: training examples per second, both
// architectures' passes counted (2 per example). Argument 1: the subnet fits the reference's
// probabilities (rec::Supernet::SetTeacher, weight 1, as the searches do: one more forward pass
// of the reference per subnet step); 0: the labels.
void BM_SupernetOneShotSteps(benchmark::State& state) {
  const rec::CtrData& data = Data();
  const rec::InputShape in = rec::InputOf(data);
  const nas::Space space = *nas::MakeSpace("scratch");
  const rec::Arch base = space.Decode(space.reference, in);
  const rec::ArchInfo base_info = *rec::Analyze(base, in);
  std::mt19937_64 rng(1);
  double examples = 0, seconds = 0;
  for (auto _ : state) {
    Result<std::unique_ptr<rec::Supernet>> net = rec::MakeSupernet(data, rec::TrainOptions{});
    if (!net.ok()) {
      state.SkipWithError(net.status().message().c_str());
      return;
    }
    if (Status s = (*net)->SetTeacher(base, base_info, static_cast<double>(state.range(0)));
        !s.ok()) {
      state.SkipWithError(s.message().c_str());
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < 390; ++step) {
      nas::Choice c(space.dims.size());
      for (size_t d = 0; d < c.size(); ++d) {
        c[d] = static_cast<uint32_t>(rng() % space.dims[d].values.size());
      }
      const rec::Arch arch = space.Decode(c, in);
      const rec::ArchInfo info = *rec::Analyze(arch, in);
      if (!(*net)->TrainStep(arch, info, step).ok() ||
          !(*net)->TrainStep(base, base_info, step).ok()) {
        state.SkipWithError("a supernet step failed");
        return;
      }
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    examples += 2 * 390 * 256;
  }
  state.counters["examples_per_s"] = seconds > 0 ? examples / seconds : 0;
}

}  // namespace

BENCHMARK(BM_SupernetOneShotSteps)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDlrmS)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDlrmM)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDlrmL)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDcnv2M)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainDeepfmM)->Unit(benchmark::kSecond)->Iterations(2);
BENCHMARK(BM_TrainAutointM)->Unit(benchmark::kSecond)->Iterations(1);
