// Speed of the analytical step-time model and of the event engine (docs/BENCHMARKS.md records the
// results).
//   build/release/bench/scaleplan_bench --benchmark_min_time=2
// BM_EvaluateDefault: one Llama 3 405B / 16,384-GPU plan evaluated again and again (plan built).
// BM_EvaluateSweep: a sweep over 405B plans (tp, pp, vp, micro-batch, zero, schedule), building
// and evaluating each valid one: what a search pays per candidate.
// BM_ExploreRegions: one scale-across exploration (three variants).
#include <benchmark/benchmark.h>

#include <vector>

#include "balance/balance.h"
#include "explore/explore.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "sim/event.h"
#include "spec/readers.h"

namespace {

using namespace scaleplan;

spec::JobSpec DefaultJob() { return *spec::LoadJob("llama3-405b-16k"); }

void BM_EvaluateDefault(benchmark::State& state) {
  plan::Plan p = *plan::BuildPlan(DefaultJob());
  sim::Evaluator evaluator(*hardware::DeviceModel::For(p.job));
  for (auto _ : state) {
    sim::StepResult r = evaluator.Evaluate(p);
    benchmark::DoNotOptimize(r.step_time_s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateDefault);

// What a search ranks by: the same evaluation into reused buffers (Evaluator::EvaluateReused).
void BM_EvaluateDefaultReused(benchmark::State& state) {
  plan::Plan p = *plan::BuildPlan(DefaultJob());
  sim::Evaluator evaluator(*hardware::DeviceModel::For(p.job));
  for (auto _ : state) {
    const sim::StepResult& r = evaluator.EvaluateReused(p);
    benchmark::DoNotOptimize(r.step_time_s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EvaluateDefaultReused);

std::vector<spec::JobSpec> Sweep() {
  std::vector<spec::JobSpec> jobs;
  spec::JobSpec base = DefaultJob();
  for (int64_t tp : {4, 8}) {
    for (int64_t pp : {8, 16, 32}) {
      for (int64_t vp : {1, 2, 4}) {
        for (int64_t mb : {1, 2}) {
          for (spec::ZeroMode zero : {spec::ZeroMode::kZero1, spec::ZeroMode::kFsdp}) {
            spec::JobSpec job = base;
            job.plan.tp = tp;
            job.plan.pp = pp;
            job.plan.vp = vp;
            job.plan.micro_batch = mb;
            job.plan.zero = zero;
            job.plan.schedule = vp > 1 ? spec::Schedule::kLlama3 : spec::Schedule::k1F1B;
            job.plan.pp_microbatch_group = 0;
            if (plan::BuildPlan(job).ok()) jobs.push_back(job);  // only plans that validate
          }
        }
      }
    }
  }
  return jobs;
}

void BM_BuildAndEvaluateSweep(benchmark::State& state) {
  std::vector<spec::JobSpec> jobs = Sweep();
  spec::JobSpec first = jobs.front();
  sim::Evaluator evaluator(*hardware::DeviceModel::For(first));
  size_t i = 0;
  for (auto _ : state) {
    plan::Plan p = *plan::BuildPlan(jobs[i]);
    sim::StepResult r = evaluator.Evaluate(p);
    benchmark::DoNotOptimize(r.step_time_s);
    i = (i + 1) % jobs.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["distinct_plans"] = static_cast<double>(jobs.size());
}
BENCHMARK(BM_BuildAndEvaluateSweep);

// Every replica made distinct (a speed factor 1 - 1e-9 * replica on one of its GPUs), so that the
// engine simulates all of them instead of folding identical ones.
sim::EventOptions AllReplicasDistinct(const plan::Plan& p) {
  sim::EventOptions o;
  int64_t stride = p.groups[static_cast<size_t>(spec::Dim::kDp)].stride;
  for (int64_t r = 0; r < p.dp; ++r)
    o.straggler_speed[r * stride] = 1.0 - 1e-9 * static_cast<double>(r);
  return o;
}

// BM_EventDefault: the default job (Llama 3 405B, 16,384 GPUs: 128 replicas x 16 stages,
// interleaved with 8 chunks, 16 micro-batches), every replica simulated.
void BM_EventDefault(benchmark::State& state) {
  plan::Plan p = *plan::BuildPlan(DefaultJob());
  sim::EventOptions o = AllReplicasDistinct(p);
  int64_t passes = 0;
  for (auto _ : state) {
    sim::EventResult r = *sim::SimulateEvents(p, o);
    passes = r.simulated_passes;
    benchmark::DoNotOptimize(r.step.step_time_s);
  }
  state.counters["passes"] = static_cast<double>(passes);
}
BENCHMARK(BM_EventDefault)->Unit(benchmark::kMillisecond);

// The default model and plan on `replicas` x 128 GPUs (pods of 3,072 GPUs added as needed), every
// replica simulated.
void RunEventAtScale(benchmark::State& state, int64_t replicas) {
  spec::JobSpec job = DefaultJob();
  job.gpus = replicas * 128;
  job.cluster.tiers.back().gpus = (job.gpus + 3071) / 3072 * 3072;
  job.workload.batch_tokens = 0;
  job.workload.global_batch = replicas * 16;
  plan::Plan p = *plan::BuildPlan(job);
  sim::EventOptions o = AllReplicasDistinct(p);
  int64_t passes = 0;
  for (auto _ : state) {
    sim::EventResult r = *sim::SimulateEvents(p, o);
    passes = r.simulated_passes;
    benchmark::DoNotOptimize(r.step.step_time_s);
  }
  state.counters["passes"] = static_cast<double>(passes);
}

// BM_Event100k: 102,400 GPUs (800 replicas).
void BM_Event100k(benchmark::State& state) { RunEventAtScale(state, 800); }
BENCHMARK(BM_Event100k)->Unit(benchmark::kMillisecond);

// BM_Event1M: 1,048,576 GPUs (8,192 replicas).
void BM_Event1M(benchmark::State& state) { RunEventAtScale(state, 8192); }
BENCHMARK(BM_Event1M)->Unit(benchmark::kMillisecond);

// BM_PackWlb16M: the WLB-LLM packer on a 16M-token global batch of 128K-token micro-batches (128
// micro-batches) drawn from the seeded lognormal corpus (a few thousand documents), one Pack call
// per item.
void BM_PackWlb16M(benchmark::State& state) {
  balance::PackerOptions o;
  o.microbatches = 128;
  o.context = 131072;
  o.thresholds = {32768, 65536};
  balance::WorkloadModel w;
  w.linear_per_token = 6.0 * 7.5e9;
  w.attention_per_pair = 12.0 * 32 * 4096;
  std::vector<int64_t> lengths = *balance::Synthetic("lognormal", 200000, 131072, 7);
  std::vector<balance::Document> docs;
  int64_t tokens = 0;
  for (int64_t len : lengths) {
    if (tokens + len > o.microbatches * o.context) break;
    docs.push_back({static_cast<int64_t>(docs.size()), len, 0});
    tokens += len;
  }
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<balance::Packer> packer = std::move(balance::MakePacker("wlb", o, w)).value();
    state.ResumeTiming();
    auto batch = packer->Pack(docs, 0);
    benchmark::DoNotOptimize(batch.data());
  }
  state.counters["documents"] = static_cast<double>(docs.size());
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_PackWlb16M)->Unit(benchmark::kMillisecond);

// BM_PackWlbAdaptiveStream: the adaptive WLB-LLM packer (no thresholds, s_max up to 1.5 x context,
// mean delay budget 0.5) streaming 16M-token global batches of 128 micro-batches of 128K tokens
// from the seeded lognormal corpus, as a loader hands them over. One item is 1024 batches: the
// packer's choice period at N = 128 (32 x 128 / 4), so it includes one choice of bands and s_max
// (up to seven settings replayed over 8 batches, the replay window at N = 128). `per_batch` is
// the mean time per batch.
void BM_PackWlbAdaptiveStream(benchmark::State& state) {
  constexpr int64_t kBatches = 1024;
  balance::PackerOptions o;
  o.microbatches = 128;
  o.context = 131072;
  balance::WorkloadModel w;
  w.linear_per_token = 6.0 * 7.5e9;
  w.attention_per_pair = 12.0 * 32 * 4096;
  std::vector<int64_t> lengths = *balance::Synthetic("lognormal", 3500000, 131072, 7);
  std::vector<std::vector<balance::Document>> batches;
  size_t at = 0;
  for (int64_t b = 0; b < kBatches && at < lengths.size(); ++b) {
    std::vector<balance::Document> incoming;
    int64_t tokens = 0;
    while (at < lengths.size() && tokens + lengths[at] <= o.microbatches * o.context) {
      incoming.push_back({static_cast<int64_t>(at), lengths[at], b});
      tokens += lengths[at++];
    }
    batches.push_back(std::move(incoming));
  }
  // A loader hands the same output batch back each iteration (PackInto keeps its capacity).
  std::vector<balance::MicroBatch> out;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<balance::Packer> packer = std::move(balance::MakePacker("wlb", o, w)).value();
    state.ResumeTiming();
    for (size_t b = 0; b < batches.size(); ++b) {
      packer->PackInto(batches[b], static_cast<int64_t>(b), out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.counters["per_batch"] = benchmark::Counter(
      static_cast<double>(batches.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["batches"] = static_cast<double>(batches.size());
}
BENCHMARK(BM_PackWlbAdaptiveStream)->Unit(benchmark::kMillisecond)->Iterations(3);

// One whole `scaleplan explore` (15 exhaustive searches, every row also run by the event engine):
// Llama 3 405B from PP 8 / 1F1B on two regions of 8,192 H100s. Arg 0: analytical ranking; 1:
// --relaxed-sync; 2: --engine event.
void BM_ExploreRegions(benchmark::State& state) {
  spec::JobSpec job = DefaultJob();
  job.cluster = *spec::LoadCluster("regions-2x8k");
  job.gpus = 16384;
  job.plan.pp = 8;
  job.plan.vp = 1;
  job.plan.schedule = spec::Schedule::k1F1B;
  explore::ExploreOptions o;
  o.relaxed_sync = state.range(0) == 1;
  o.engine = state.range(0) == 2 ? "event" : "analytical";
  for (auto _ : state) {
    Result<explore::ExploreResult> r = explore::Explore(job, o);
    benchmark::DoNotOptimize(r->joint.step_time_s);
  }
}
BENCHMARK(BM_ExploreRegions)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
