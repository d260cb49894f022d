// Speed of the CubicML loop (docs/BENCHMARKS.md records the results).
// BM_SuggestFrom1000Jobs: `scaleplan suggest` on a log of 1,000 finished jobs of the default
// Llama 3 405B / 16,384-GPU job (the physics' 1,000 best plans, measured as the physics times a
// seeded +-10% factor, every 50th out of memory): fitting the ridge ensemble (8 members) and the
// feasibility model, then the exhaustive search of the default space ranked by the learned engine,
// and the 8 proposals. Target (issue 13): fit + suggest on 1,000 jobs in <= 2 s.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "predict/suggest.h"
#include "search/search.h"
#include "spec/readers.h"

namespace {

using namespace scaleplan;

void BM_SuggestFrom1000Jobs(benchmark::State& state) {
  spec::JobSpec job = *spec::LoadJob("llama3-405b-16k");
  search::PinnedSearch pinned = *search::ApplyPins(job, {});
  search::SearchOptions top;
  top.top_k = 1000;
  top.rerank_with_events = false;
  search::SearchResult physics = *search::Search(pinned.job, pinned.space, top);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  std::vector<validate::TrainingCase> jobs;
  for (size_t i = 0; i < physics.top.size(); ++i) {
    validate::TrainingCase c;
    c.job = pinned.job;
    c.job.plan = physics.top[i].plan;
    c.job.plan.dp = 0;
    c.job.plan.microbatches = 0;
    c.metric = "tokens_per_s_per_gpu";
    c.status = i % 50 == 49 ? "oom" : "ok";
    c.measured = c.status == "ok" ? physics.top[i].step.tokens_per_s_per_gpu * factor(rng) : 0;
    c.label = "bench";
    jobs.push_back(std::move(c));
  }
  predict::SuggestOptions options;
  for (auto _ : state) {
    Result<predict::Suggestion> s = predict::Suggest(pinned.job, pinned.space, jobs, options);
    benchmark::DoNotOptimize(s->proposals.size());
  }
  state.counters["jobs"] = static_cast<double>(jobs.size());
}
BENCHMARK(BM_SuggestFrom1000Jobs)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
