#include "nas/nas.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/memory.h"
#include "core/text.h"
#include "rec/baselines.h"
#include "rec/supernet.h"
#include "search/search.h"
#include "validate/validate.h"

namespace scaleplan::nas {

namespace {

constexpr int kMaxRedraws = 100;
// What identifies an architecture (the search's cache, the history's index, a clone's test): its
// JSON. Two choices that decode to one architecture (a dimension the choice leaves unused) have
// one key.
std::string ArchKey(const rec::Arch& arch) { return rec::ArchToJson(arch).dump(); }
std::string ArchKey(const Space& space, const Choice& choice, const rec::InputShape& input) {
  return ArchKey(space.Decode(choice, input));
}
constexpr int64_t kReinforceBatch = 4;
constexpr double kPolicyLearningRate = 0.5;
constexpr double kEntropyBonus = 0.05;
constexpr double kBaselineDecay = 0.8;
// Costed draws per member of the sampling family's first candidates (evolution's population,
// REINFORCE's start) and of one-shot's random answers (Searcher::SpreadStart), at most
// kMaxSpreadDraws in all (one-shot's budget can be 100,000).
constexpr int64_t kSpreadDraws = 64;
constexpr int64_t kMaxSpreadDraws = 20000;
// The time limit's allowance for the front's projected retraining (NasOptions::time_limit_s):
// measured, the retraining took up to a fifth longer than its projection (docs/NAS.md, "A time
// limit"), so the projection is taken half again as long.
constexpr double kProjectionMargin = 1.5;
constexpr double kFailedScore = 2.0;  // a failed candidate's NE and score: twice the constant's
// The FLOPs weights a selection draws from (nas.h): 0 is the score alone; 0.01 trades a 2.7x
// FLOPs cut for 0.01 NE.
constexpr double kFlopsWeights[] = {0, 0.0025, 0.005, 0.01, 0.02};
// One-shot and DNAS (nas.h).
constexpr double kWarmupShare = 0.25;           // one-shot, DNAS: steps of uniform subnets first
constexpr int64_t kPolicyEvery = 5;             // one-shot: steps between policy updates
constexpr int64_t kRewardExamples = 1024;       // one-shot: valid examples per reward
constexpr int64_t kCostingDraws = 2000;         // DNAS: random choices behind the FLOPs table
constexpr double kTauStart = 5, kTauEnd = 0.5;  // DNAS: Gumbel-softmax temperature
constexpr double kAlphaRate = 0.1;              // DNAS: Adam's step on the architecture logits
constexpr double kTargetRate = 0.1;  // DNAS: the constraint step per ln FLOPs over the target
// DNAS with the screen: the likeliest variants of each target's answer scored on the supernet,
// per variant the screen trains (nas.h).
constexpr size_t kDnasVariantsScored = 4;

double Scalarized(const Candidate& c, double lambda) {
  return c.proxy_score + lambda * std::log(std::max(c.flops, 1.0));
}

// The two-sided 95% point of Student's t with `df` degrees of freedom (df = 2 (seeds - 1) for
// two means of `seeds` runs each; seeds <= 10, so df is even and at most 18).
double TCritical(int64_t df) {
  static const double kT[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
                              2.228, 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101};
  return df >= 1 && df <= 18 ? kT[df] : 1.96;
}

double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

std::vector<double> Softmax(const std::vector<double>& logits, double tau = 1) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double sum = 0;
  for (double l : logits) {
    p.push_back(std::exp((l - top) / tau));
    sum += p.back();
  }
  for (double& v : p) v /= sum;
  return p;
}

// The low-fidelity score (nas.h).
double ProxyScore(const rec::TrainResult& r) {
  const size_t n = r.curve.size();
  if (n < 4) return r.valid.ne;
  auto mean = [&](size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += r.curve[i];
    return s / static_cast<double>(to - from);
  };
  const double q3 = mean(n / 2, 3 * n / 4), q4 = mean(3 * n / 4, n);
  return r.valid.ne - kTrendWeight * (q3 > 0 ? (q3 - q4) / q3 : 0);
}

void WriteTrained(WireWriter& w, const Result<rec::TrainResult>& r) {
  w.U64(r.ok() ? 1 : 0);
  if (!r.ok()) {
    w.Text(r.status().message());
    return;
  }
  for (const rec::Metrics* m : {&r->valid, &r->test}) {
    w.F64(m->log_loss);
    w.F64(m->ne);
    w.F64(m->auc);
    w.F64(m->ctr);
    w.U64(static_cast<uint64_t>(m->examples));
  }
  w.U64(r->curve.size());
  for (double v : r->curve) w.F64(v);
  w.U64(static_cast<uint64_t>(r->steps));
  w.U64(static_cast<uint64_t>(r->examples));
  w.F64(r->train_s);
  w.F64(r->score_s);
  w.F64(r->wall_s);
  w.F64(r->examples_per_s);
}

Result<Result<rec::TrainResult>> ReadTrained(WireReader& in) {
  SP_ASSIGN_OR_RETURN(uint64_t ok, in.U64());
  if (ok == 0) {
    SP_ASSIGN_OR_RETURN(std::string message, in.Text());
    return Result<rec::TrainResult>(Status::Invalid(std::move(message)));
  }
  rec::TrainResult r;
  for (rec::Metrics* m : {&r.valid, &r.test}) {
    SP_ASSIGN_OR_RETURN(m->log_loss, in.F64());
    SP_ASSIGN_OR_RETURN(m->ne, in.F64());
    SP_ASSIGN_OR_RETURN(m->auc, in.F64());
    SP_ASSIGN_OR_RETURN(m->ctr, in.F64());
    SP_ASSIGN_OR_RETURN(uint64_t examples, in.U64());
    m->examples = static_cast<int64_t>(examples);
  }
  SP_ASSIGN_OR_RETURN(uint64_t points, in.U64());
  for (uint64_t i = 0; i < points; ++i) {
    SP_ASSIGN_OR_RETURN(double v, in.F64());
    r.curve.push_back(v);
  }
  SP_ASSIGN_OR_RETURN(uint64_t steps, in.U64());
  SP_ASSIGN_OR_RETURN(uint64_t examples, in.U64());
  r.steps = static_cast<int64_t>(steps);
  r.examples = static_cast<int64_t>(examples);
  SP_ASSIGN_OR_RETURN(r.train_s, in.F64());
  SP_ASSIGN_OR_RETURN(r.score_s, in.F64());
  SP_ASSIGN_OR_RETURN(r.wall_s, in.F64());
  SP_ASSIGN_OR_RETURN(r.examples_per_s, in.F64());
  return Result<rec::TrainResult>(std::move(r));
}

// Trains `jobs`, `threads` at a time across all the processes (each job on one core); results in
// order, in every process. Split across N processes, job i trains in rank i mod N (each process
// ceil(threads / N) at a time) and the results travel to every process; a job trains the same
// wherever it runs (rec::Train is deterministic for its seed on one thread). The memory is
// checked for each group of trainings run side by side before any starts (rec::TrainMemory
// summed against AvailableMemoryBytes), and not by each training: a candidate refused because
// another held the memory at that moment would make the search depend on timing, so a group that
// does not fit is the run's error.
Result<std::vector<Result<rec::TrainResult>>> TrainAll(
    const std::vector<std::pair<const rec::Arch*, rec::TrainOptions>>& jobs,
    const rec::CtrData& data, int64_t threads, const Processes* processes) {
  std::vector<Result<rec::TrainResult>> out(jobs.size(), Status::Invalid("not run"));
  const int64_t n = ProcessCount(processes);
  std::vector<size_t> mine;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (IsMine(processes, i)) mine.push_back(i);
  }
  const size_t width = static_cast<size_t>(std::max<int64_t>(1, (threads + n - 1) / n));
  const std::optional<double> room = mine.empty() ? std::nullopt : AvailableMemoryBytes();
  for (size_t from = 0; from < mine.size(); from += width) {
    const size_t to = std::min(mine.size(), from + width);
    if (room) {
      double need = 0;
      for (size_t k = from; k < to; ++k) {
        const rec::Arch& arch = *jobs[mine[k]].first;
        // (An architecture that does not analyse fails in its own training, by name.)
        if (Result<rec::ArchInfo> info = rec::Analyze(arch, rec::InputOf(data)); info.ok()) {
          const rec::TrainBytes b = rec::TrainMemory(arch, *info, jobs[mine[k]].second);
          need += b.state + b.activations;
        }
      }
      if (need > *room) {
        return Status::Invalid(fmt::format(
            "nas: {} trainings side by side (candidates {} to {}) need about {:.3g} GB and this "
            "process may take {:.3g} GB more (allowed: fewer at a time, nas.parallel; a smaller "
            "embedding_dim, --table-rows or --batch; or more free memory: another machine, or a "
            "higher ulimit -v)",
            to - from, Printable(jobs[mine[from]].first->name, 64),
            Printable(jobs[mine[to - 1]].first->name, 64), need / 1e9, *room / 1e9));
      }
    }
    std::vector<std::thread> pool;
    for (size_t k = from; k < to; ++k) {
      const size_t i = mine[k];
      pool.emplace_back([&, i] {
        rec::TrainOptions o = jobs[i].second;
        o.check_memory = false;  // checked for the group above
        out[i] = rec::Train(*jobs[i].first, data, o);
      });
    }
    for (std::thread& t : pool) t.join();
  }
  if (n == 1) return out;
  WireWriter w;
  for (size_t i : mine) WriteTrained(w, out[i]);
  // The tag names the jobs, so ranks that drew different candidates stop with an error.
  std::string jobs_text = fmt::format("{} {} {}", data.name, data.train.n, data.test.n);
  for (const auto& [arch, options] : jobs) {
    jobs_text += ArchKey(*arch) + rec::TrainOptionsSchema().ToJson(options).dump();
    if (options.embedding_start) {
      jobs_text += fmt::format(" start {:016x}", options.embedding_start->fingerprint);
    }
  }
  const std::string tag =
      fmt::format("nas training of {} models ({:016x})", jobs.size(), Fingerprint(jobs_text));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> shares, processes->AllGather(tag, w.Take()));
  for (size_t r = 0; r < shares.size(); ++r) {
    WireReader in(shares[r], fmt::format("nas share of rank {}", r));
    for (size_t i = r; i < jobs.size(); i += static_cast<size_t>(n)) {
      SP_ASSIGN_OR_RETURN(out[i], ReadTrained(in));
    }
    SP_RETURN_IF_ERROR(in.Done());
  }
  return out;
}

// The embedding tables the candidates' low-fidelity runs start from (NasOptions::proxy_embeddings):
// the space's reference model at each value of its embedding_dim dimension, trained once as a
// full training trains it (train.epochs over the training split, capped as train caps it), with
// the seed train.seed + kPretrainSeedOffset so that its rows are no final model's, scored on the
// proxy's validation examples. Every process trains them itself (rec::Train is deterministic for
// a seed on one core): no table travels, and the tables' fingerprint joins the training jobs'
// tag, so ranks that made different ones stop. A space without an embedding_dim dimension, or
// data without sparse features, gets none. A reference that fails (too large for the trainer at
// one dimension, or diverged) leaves that dimension's candidates fresh, named in *failed.
constexpr uint64_t kPretrainSeedOffset = 1000;

Result<std::shared_ptr<const rec::EmbeddingStart>> PretrainEmbeddings(
    const Space& space, const rec::CtrData& data, const rec::TrainOptions& train,
    const NasOptions& options, const NasProgress& progress, std::vector<std::string>* failed) {
  auto start = std::make_shared<rec::EmbeddingStart>();
  const rec::InputShape input = rec::InputOf(data);
  size_t dim = 0;
  while (dim < space.dims.size() && space.dims[dim].name != "embedding_dim") ++dim;
  if (dim == space.dims.size() || data.cardinality.empty()) {
    return std::shared_ptr<const rec::EmbeddingStart>(std::move(start));
  }
  std::vector<rec::Arch> archs;
  for (uint32_t v = 0; v < space.dims[dim].values.size(); ++v) {
    Choice c = space.reference;
    c[dim] = v;
    archs.push_back(space.Decode(c, input));
    archs.back().name = fmt::format("pretrain-e{}", archs.back().embedding_dim);
  }
  rec::TrainOptions o = train;
  o.max_eval_examples = options.proxy_eval;
  o.evaluate_test = false;
  o.threads = 1;
  o.progress = nullptr;
  o.seed = train.seed + kPretrainSeedOffset;
  o.embedding_start = nullptr;
  o.keep_embeddings = true;
  std::vector<std::pair<const rec::Arch*, rec::TrainOptions>> jobs;
  for (const rec::Arch& a : archs) jobs.emplace_back(&a, o);
  if (progress) {
    progress(
        fmt::format("pretraining the candidates' embeddings: {} reference models", archs.size()));
  }
  SP_ASSIGN_OR_RETURN(std::vector<Result<rec::TrainResult>> out,
                      TrainAll(jobs, data, options.parallel, nullptr));
  std::string bytes;
  for (size_t k = 0; k < archs.size(); ++k) {
    if (!out[k].ok()) {
      failed->push_back(
          fmt::format("{}: {} (nas.proxy_embeddings = pretrained: candidates of "
                      "embedding dimension {} start fresh)",
                      archs[k].name, out[k].status().message(), archs[k].embedding_dim));
      if (progress) progress(failed->back());
      continue;
    }
    if (progress) {
      progress(fmt::format("{:>12}: valid NE {:.4f}", archs[k].name, out[k]->valid.ne));
    }
    std::vector<float>& table = out[k]->embedding_table;
    bytes.append(reinterpret_cast<const char*>(table.data()), table.size() * sizeof(float));
    start->tables[archs[k].embedding_dim] = std::move(table);
  }
  start->fingerprint = Fingerprint(bytes);
  return std::shared_ptr<const rec::EmbeddingStart>(std::move(start));
}

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The models retrained in full once the search ends (nas.h): with the screen, the front of its
// scores; without it, DNAS's answer is each FLOPs target's most likely architecture in its band,
// all of them, thinned to `retrain` evenly in FLOPs; the other families', the proxy front.
std::vector<Candidate> FinalFront(const std::vector<Candidate>& history, const NasOptions& options,
                                  int64_t screened, const std::vector<double>& baseline_flops);

// A final training's options: `train` on one core, scored on test too, its seed train.seed +
// `seed_offset`.
rec::TrainOptions FinalTraining(const rec::TrainOptions& train, int64_t seed_offset) {
  rec::TrainOptions o = train;
  o.threads = 1;
  o.progress = nullptr;
  o.evaluate_test = true;
  o.seed = train.seed + static_cast<uint64_t>(seed_offset);
  return o;
}

class Searcher {
 public:
  Searcher(const Space& space, const rec::CtrData& data, const rec::TrainOptions& train,
           const NasOptions& options, std::vector<double> baseline_flops, NasResult* result,
           const NasProgress& progress, Clock::time_point started,
           std::function<Status()> before_limit)
      : space_(space),
        data_(data),
        input_(rec::InputOf(data)),
        train_(train),
        options_(options),
        baseline_flops_(std::move(baseline_flops)),
        result_(result),
        progress_(progress),
        rng_(options.search_seed),
        started_(started),
        before_limit_(std::move(before_limit)) {
    // What one final training trains and scores (RunNas's jobs: FinalTraining).
    const rec::TrainOptions full = FinalTraining(train, 0);
    auto cap = [](int64_t n, int64_t max) { return max > 0 ? std::min(n, max) : n; };
    full_trained_ = full.epochs * cap(data.train.n, full.max_train_examples);
    full_scored_ =
        cap(data.valid.n, full.max_eval_examples) + cap(data.test.n, full.max_eval_examples);
  }

  // The front's retraining as projected from its models' low-fidelity runs (GroupedWallS of
  // final_seeds jobs each of Candidate::full_s); 0 when one of them has none.
  double FrontProjectedS(const std::vector<Candidate>& front) const {
    std::vector<double> jobs;
    for (const Candidate& c : front) {
      if (c.full_s <= 0) return 0;
      jobs.insert(jobs.end(), static_cast<size_t>(options_.final_seeds), c.full_s);
    }
    return GroupedWallS(jobs, options_.parallel, ProcessCount(options_.processes));
  }

  // TrainAll's groups of trainings side by side for `jobs` trainings (in each process).
  int64_t Groups(int64_t jobs) const {
    const int64_t n = ProcessCount(options_.processes);
    const int64_t width = std::max<int64_t>(1, (options_.parallel + n - 1) / n);
    return ((jobs + n - 1) / n + width - 1) / width;
  }

  // Records the wall of a TrainAll of `jobs` low-fidelity runs, per group side by side.
  void Timed(Clock::time_point from, int64_t jobs) {
    if (jobs > 0) group_s_ = SecondsSince(from) / static_cast<double>(Groups(jobs));
  }

  // NasOptions::time_limit_s (nas.h): would the time so far, a next batch of `batch`
  // low-fidelity runs (each group of them as long as the last's) and the front's retraining as
  // projected pass it? Every process asks at the same points; the slowest one's answer is all
  // of theirs.
  // Not before the front holds a model (a first population that failed whole searches on).
  Result<bool> OutOfTime(int64_t batch) {
    if (options_.time_limit_s <= 0) return false;
    const std::vector<Candidate> front =
        FinalFront(result_->history, options_, result_->screened, baseline_flops_);
    if (front.empty()) return false;
    if (before_limit_) SP_RETURN_IF_ERROR(before_limit_());
    double need = SecondsSince(started_) + group_s_ * static_cast<double>(Groups(batch)) +
                  kProjectionMargin * FrontProjectedS(front);
    if (ProcessCount(options_.processes) > 1) {  // ranks in processes or threads: each its clock
      WireWriter w;
      w.F64(need);
      SP_ASSIGN_OR_RETURN(std::vector<std::string> shares,
                          options_.processes->AllGather("nas time limit", w.Take()));
      for (size_t r = 0; r < shares.size(); ++r) {
        WireReader in(shares[r], fmt::format("nas time of rank {}", r));
        SP_ASSIGN_OR_RETURN(double theirs, in.F64());
        SP_RETURN_IF_ERROR(in.Done());
        need = std::max(need, theirs);
      }
    }
    if (need <= options_.time_limit_s) return false;
    result_->time_limited = true;
    if (progress_) {
      progress_(fmt::format(
          "time limit: {:.0f} s so far, the next batch and the front's retraining would take "
          "{:.0f} s in all, over nas.time_limit_s = {:.0f}: the search stops",
          SecondsSince(started_), need, options_.time_limit_s));
    }
    return true;
  }

  Choice Random() {
    Choice c(space_.dims.size());
    for (size_t d = 0; d < c.size(); ++d) c[d] = Draw(space_.dims[d].values.size());
    return c;
  }

  // A choice within the FLOPs limit, from `propose` (redrawn while over it).
  template <class F>
  Result<Candidate> Feasible(F&& propose) {
    for (int i = 0; i < kMaxRedraws; ++i) {
      Candidate c;
      c.choice = propose();
      c.arch = space_.Decode(c.choice, input_);
      SP_ASSIGN_OR_RETURN(c.info, rec::Analyze(c.arch, input_));
      c.flops = c.info.flops;
      c.params = c.info.params;
      if (options_.flops_max <= 0 || c.flops <= options_.flops_max) return c;
      ++result_->over_flops;
    }
    return Status::Invalid(fmt::format(
        "nas.flops_max = {}: {} draws in a row were over it (allowed: a limit the space can meet; "
        "the smallest baselines need about {})",
        options_.flops_max, kMaxRedraws, "1e4"));
  }

  // Trains the candidates not seen before (an architecture seen before keeps its first score
  // and name and is not trained or listed again); fills their scores.
  Status Evaluate(std::vector<Candidate>* batch) {
    std::vector<std::pair<const rec::Arch*, rec::TrainOptions>> jobs;
    std::vector<size_t> fresh;
    std::vector<std::string> keys;  // the fresh ones', taken unnamed
    std::map<std::string, size_t> in_batch;
    for (size_t i = 0; i < batch->size(); ++i) {
      Candidate& c = (*batch)[i];
      const std::string key = ArchKey(c.arch);
      if (auto it = cache_.find(key); it != cache_.end()) {
        Choice drawn = std::move(c.choice);  // the controller credits what it drew
        c = it->second;
        c.choice = std::move(drawn);
        continue;
      }
      if (in_batch.count(key) > 0) continue;  // filled below from the first copy
      in_batch[key] = i;
      // Named before it trains (the history's next index), so that its errors name it.
      c.arch.name = fmt::format("nas-{}", result_->history.size() + fresh.size());
      jobs.emplace_back(&c.arch, ProxyTraining());
      fresh.push_back(i);
      keys.push_back(key);
    }
    const Clock::time_point from = Clock::now();
    SP_ASSIGN_OR_RETURN(std::vector<Result<rec::TrainResult>> out,
                        TrainAll(jobs, data_, options_.parallel, options_.processes));
    Timed(from, static_cast<int64_t>(jobs.size()));
    for (size_t k = 0; k < fresh.size(); ++k) {
      Candidate& c = (*batch)[fresh[k]];
      const std::string& key = keys[k];
      SetProxyScores(out[k], &c);
      cache_[key] = c;
      ++trained_;
      result_->history.push_back(c);
      if (progress_ && c.failed) {
        progress_(fmt::format("{:>8}: failed ({})", c.arch.name, c.error));
      } else if (progress_) {
        progress_(fmt::format("{:>8}: proxy NE {:.4f} score {:.4f} {:>9.0f} FLOPs  {}", c.arch.name,
                              c.proxy_ne, c.proxy_score, c.flops, rec::DescribeArch(c.arch)));
      }
    }
    for (Candidate& c : *batch) {
      if (c.arch.name.empty()) {  // a second copy in this batch: the first's scores, its choice
        Choice drawn = std::move(c.choice);
        c = cache_.at(ArchKey(c.arch));
        c.choice = std::move(drawn);
      }
    }
    return Status::Ok();
  }

  // A low-fidelity run's scores: its valid NE and the proxy score, and the full training's
  // projected wall; a candidate that diverged is kept as a failure with the worst score, not the
  // end of the search.
  void SetProxyScores(const Result<rec::TrainResult>& run, Candidate* c) const {
    if (run.ok()) {
      c->proxy_ne = run->valid.ne;
      c->proxy_score = ProxyScore(*run);
      c->full_s = ProjectedTrainingS(*run, run->valid.examples + run->test.examples, full_trained_,
                                     full_scored_);
      return;
    }
    c->failed = true;
    c->error = run.status().message();
    c->proxy_ne = c->proxy_score = kFailedScore;
  }

  // The embedding tables the candidates' low-fidelity runs start from (null: fresh rows).
  void StartProxiesFrom(std::shared_ptr<const rec::EmbeddingStart> start) {
    proxy_start_ = std::move(start);
  }

  // A candidate's low-fidelity run: one epoch of the first proxy_examples, scored on the first
  // proxy_eval valid examples, its embedding rows started as NasOptions::proxy_embeddings says.
  rec::TrainOptions ProxyTraining() const {
    rec::TrainOptions o = train_;
    o.embedding_start = proxy_start_;
    o.epochs = 1;
    o.max_train_examples = options_.proxy_examples;
    o.max_eval_examples = options_.proxy_eval;
    o.evaluate_test = false;
    o.threads = 1;
    o.progress = nullptr;
    return o;
  }

  // The screen (nas.h): trains the history's candidates `picks` (indices) at low fidelity; their
  // supernet NE moves to supernet_ne, the proxy's NE and score take its place.
  Status Screen(const std::vector<size_t>& picks, bool refining = false) {
    std::vector<std::pair<const rec::Arch*, rec::TrainOptions>> jobs;
    for (size_t i : picks) jobs.emplace_back(&result_->history[i].arch, ProxyTraining());
    if (progress_ && !refining) {
      progress_(fmt::format("screen: {} answers trained at low fidelity", picks.size()));
    }
    const Clock::time_point from = Clock::now();
    SP_ASSIGN_OR_RETURN(std::vector<Result<rec::TrainResult>> out,
                        TrainAll(jobs, data_, options_.parallel, options_.processes));
    Timed(from, static_cast<int64_t>(jobs.size()));
    for (size_t k = 0; k < picks.size(); ++k) {
      Candidate& c = result_->history[picks[k]];
      c.screened = true;
      SetProxyScores(out[k], &c);
      if (progress_ && c.failed) {
        progress_(fmt::format("{:>8}: failed ({})", c.arch.name, c.error));
      } else if (progress_) {
        const std::string supernet = c.child ? std::string("child of the front")
                                             : fmt::format("supernet NE {:.4f}", c.supernet_ne);
        progress_(fmt::format("{:>8}: {}, proxy NE {:.4f} score {:.4f} {:>9.0f} FLOPs  {}",
                              c.arch.name, supernet, c.proxy_ne, c.proxy_score, c.flops,
                              rec::DescribeArch(c.arch)));
      }
    }
    result_->screened += static_cast<int64_t>(picks.size());
    return Status::Ok();
  }

  // The refinement (NasOptions::refine): `refine` more candidates trained at low fidelity, the
  // children of regularized evolution (tournaments, one-dimension mutations, the oldest dying,
  // as the sampling family's) whose first population is the screen's front (FrontLayers of the
  // screened candidates, at most `population`). A child the supernet scored but the screen did
  // not train is trained in place; one trained before is not trained again, and joins the
  // population as it is (at most 10 x refine draws in all).
  Status Refine() {
    if (options_.refine <= 0) return Status::Ok();
    std::vector<Candidate> screened;
    for (const Candidate& c : result_->history) {
      if (c.screened && !c.failed) screened.push_back(c);
    }
    std::vector<Candidate> population = FrontLayers(screened, options_.population, baseline_flops_);
    if (population.empty()) return Status::Ok();  // nothing screened: the run's error later
    // FrontLayers gives FLOPs order, and the oldest die first: in that order the cheap end would
    // go first. One age for all, a shuffle by the search's draws.
    std::shuffle(population.begin(), population.end(), rng_);
    std::map<std::string, size_t> index;  // ArchKey (unnamed) -> history index
    for (size_t i = 0; i < result_->history.size(); ++i) {
      rec::Arch unnamed = result_->history[i].arch;
      unnamed.name.clear();
      index.emplace(ArchKey(unnamed), i);
    }
    int64_t trained = 0, draws = 0;
    const int64_t max_draws = 10 * options_.refine;
    while (trained < options_.refine && draws < max_draws) {
      SP_ASSIGN_OR_RETURN(const bool out_of_time,
                          OutOfTime(std::min(options_.parallel, options_.refine - trained)));
      if (out_of_time) break;
      std::vector<size_t> picks;  // history indices to train
      while (static_cast<int64_t>(picks.size()) <
                 std::min(options_.parallel, options_.refine - trained) &&
             draws < max_draws) {
        ++draws;
        Result<Candidate> drawn = Feasible([&] {
          return Mutate(space_, Tournament(population).choice, input_, &rng_,
                        &result_->neutral_mutations);
        });
        if (!drawn.ok() && options_.flops_max > 0) {
          draws = max_draws;  // the children keep over the FLOPs limit: the refinement ends
          break;
        }
        SP_ASSIGN_OR_RETURN(Candidate c, std::move(drawn));
        const std::string key = ArchKey(c.arch);
        if (auto it = index.find(key); it != index.end()) {
          const Candidate& known = result_->history[it->second];
          if (known.screened || known.failed ||
              std::find(picks.begin(), picks.end(), it->second) != picks.end()) {
            if (known.screened && !known.failed) population.push_back(known);  // no training
            continue;
          }
          picks.push_back(it->second);  // scored on the supernet only
          continue;
        }
        c.arch.name = fmt::format("nas-{}", result_->history.size());
        c.child = true;  // never on the supernet
        cache_[key] = c;
        index.emplace(key, result_->history.size());
        picks.push_back(result_->history.size());
        result_->history.push_back(std::move(c));
      }
      if (picks.empty()) break;  // the draws ran out on models trained before
      SP_RETURN_IF_ERROR(Screen(picks, true));
      trained += static_cast<int64_t>(picks.size());
      for (size_t i : picks) population.push_back(result_->history[i]);
      while (static_cast<int64_t>(population.size()) > options_.population) {
        population.erase(population.begin());  // the oldest die
      }
    }
    if (progress_) {
      progress_(
          fmt::format("refine: {} children of the screen's front trained at low fidelity "
                      "({} draws)",
                      trained, draws));
    }
    result_->refined = trained;
    return Status::Ok();
  }

  // One-shot's screen: FrontLayers of the supernet-scored answers (FLOPs, supernet NE).
  Status ScreenOneShot() {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < result_->history.size(); ++i) index[result_->history[i].arch.name] = i;
    std::vector<size_t> picks;
    for (const Candidate& c : FrontLayers(result_->history, options_.screen, baseline_flops_)) {
      picks.push_back(index.at(c.arch.name));
    }
    return Screen(picks);
  }

  int64_t Remaining() const { return options_.budget - trained_; }
  // The sampling family's time limit, asked once its first population has trained (so that a
  // front exists).
  Result<bool> StartedAndOutOfTime(int64_t batch) {
    if (trained_ < std::min(options_.population, options_.budget)) return false;
    return OutOfTime(batch);
  }
  bool Done() const { return trained_ >= options_.budget || draws_ >= 10 * options_.budget; }

  // The first population, spread over the FLOPs axis: kSpreadDraws x population random
  // feasible choices (decoded and costed, not trained), sorted by FLOPs, taken at levels evenly
  // spaced in ln FLOPs (SpreadByLogFlops). A uniform sample of a space like `scratch` is mostly
  // large models; a budget of tens of candidates would rarely reach the cheap end of the front
  // otherwise (at evenly spaced ranks of 8 x 12 draws the cheapest start on the default spec
  // cost 13,282 FLOPs, above dlrm-s's 12,696; of 64 x 12 at ln-spaced levels, 4,784).
  // `with_reference`: the sampling family's start (one-shot's answer pool must not hold the
  // reference, its in-place baseline, which the supernet trains on every step).
  Result<std::vector<Choice>> SpreadStart(int64_t n, bool with_reference) {
    const int64_t draws = std::min(kSpreadDraws * n, std::max(n, kMaxSpreadDraws));
    std::vector<std::pair<double, Choice>> pool;
    const int64_t refused = result_->over_flops;  // costing draws are not the search's draws
    Status last;
    for (int64_t i = 0; i < draws; ++i) {
      Result<Candidate> c = Feasible([&] { return Random(); });
      if (!c.ok()) {  // a tight FLOPs limit: spread over what was found
        last = c.status();
        break;
      }
      pool.emplace_back(c->flops, c->choice);
    }
    result_->over_flops = refused;
    if (pool.empty()) return last;
    std::stable_sort(pool.begin(), pool.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<double> flops;
    for (const auto& [f, choice] : pool) flops.push_back(f);
    std::vector<Choice> start;
    for (size_t i : SpreadByLogFlops(flops, n)) start.push_back(pool[i].second);
    // A space built around an engineer's model starts from it (Rankitect searches around the
    // production model): it takes the place of the member nearest it in ln FLOPs.
    if (with_reference && space_.start_from_reference && !start.empty()) {
      const rec::Arch arch = space_.Decode(space_.reference, input_);
      Result<rec::ArchInfo> info = rec::Analyze(arch, input_);
      if (info.ok() && (options_.flops_max <= 0 || info->flops <= options_.flops_max)) {
        size_t nearest = 0;
        double gap = std::numeric_limits<double>::infinity();
        for (size_t i = 0; i < start.size(); ++i) {
          const Result<rec::ArchInfo> other = rec::Analyze(space_.Decode(start[i], input_), input_);
          if (!other.ok()) continue;
          const double g = std::abs(std::log(other->flops / info->flops));
          if (g < gap) {
            gap = g;
            nearest = i;
          }
        }
        start[nearest] = space_.reference;
      }
    }
    return start;
  }

  Status RunEvolution() {
    std::vector<Candidate> population;
    // (At most the budget: a start of more levels than are trained would train only the
    // cheapest.)
    SP_ASSIGN_OR_RETURN(std::vector<Choice> start,
                        SpreadStart(std::min(options_.population, options_.budget), true));
    size_t next_start = 0;
    while (!Done()) {
      SP_ASSIGN_OR_RETURN(const bool out_of_time,
                          StartedAndOutOfTime(std::min(options_.parallel, Remaining())));
      if (out_of_time) break;
      std::vector<Candidate> batch;
      for (int64_t t = 0; t < std::min(options_.parallel, Remaining()); ++t, ++draws_) {
        // Random until the population is full (and always while it is empty: --parallel may
        // exceed --population).
        Result<Candidate> c =
            population.empty() ||
                    static_cast<int64_t>(population.size() + batch.size()) < options_.population
                ? Feasible(
                      [&] { return next_start < start.size() ? start[next_start++] : Random(); })
                : Feasible([&] {
                    return Mutate(space_, Tournament(population).choice, input_, &rng_,
                                  &result_->neutral_mutations);
                  });
        if (!c.ok()) return c.status();
        batch.push_back(std::move(*c));
      }
      SP_RETURN_IF_ERROR(Evaluate(&batch));
      for (Candidate& c : batch) {
        population.push_back(std::move(c));
        if (static_cast<int64_t>(population.size()) > options_.population) {
          population.erase(population.begin());  // the oldest dies
        }
      }
    }
    return Status::Ok();
  }

  Status RunReinforce() {
    std::vector<std::vector<double>> logits;
    for (const Dimension& d : space_.dims) logits.emplace_back(d.values.size(), 0.0);
    // One moving baseline per FLOPs weight: the rewards of different weights differ by
    // lambda * ln(FLOPs), which is no signal about the choices, and spread differently.
    std::vector<search::RewardBaseline> baseline(std::size(kFlopsWeights),
                                                 search::RewardBaseline(kBaselineDecay));
    // The first `population` candidates (at most the budget) are evolution's spread start
    // (SpreadStart), in its FLOPs order: a uniform policy's draws are mostly large models, and its
    // front reached the cheap end no sooner than its policy learnt to go there. The policy is
    // updated on them as on its own draws, without importance weights (they are not its draws):
    // a warm start, deliberately. (Dealt across the batches so that each spans the FLOPs axis,
    // the start beat fewer baselines in the one run that tried it: docs/NAS.md, run 34.)
    SP_ASSIGN_OR_RETURN(const std::vector<Choice> start,
                        SpreadStart(std::min(options_.population, options_.budget), true));
    size_t next_start = 0;
    while (!Done()) {
      SP_ASSIGN_OR_RETURN(const bool out_of_time,
                          StartedAndOutOfTime(std::min(kReinforceBatch, Remaining())));
      if (out_of_time) break;
      std::vector<Candidate> batch;
      for (int64_t t = 0; t < std::min(kReinforceBatch, Remaining()); ++t, ++draws_) {
        Result<Candidate> c = Feasible(
            [&] { return next_start < start.size() ? start[next_start++] : Sample(logits); });
        if (!c.ok()) return c.status();
        batch.push_back(std::move(*c));
      }
      SP_RETURN_IF_ERROR(Evaluate(&batch));
      // The batch's FLOPs weight cycles through kFlopsWeights, so the policy is pulled towards
      // cheap models in some batches and towards the best score in others.
      const size_t w = batches_++ % std::size(kFlopsWeights);
      const double lambda = kFlopsWeights[w];
      std::vector<double> rewards;
      for (const Candidate& c : batch) rewards.push_back(-Scalarized(c, lambda));
      UpdatePolicy(batch, baseline[w].Advantages(rewards), &logits);
    }
    return Status::Ok();
  }

  // One-shot (nas.h): a supernet trained with sampled subnets beside an in-place baseline,
  // REINFORCE policies (one per FLOPs weight) rewarded by subnet NE relative to the baseline's
  // on the same examples.
  Status RunOneShot() {
    SP_ASSIGN_OR_RETURN(std::unique_ptr<rec::Supernet> net, MakeNet());
    const Choice reference = space_.reference;
    const rec::Arch base = space_.Decode(reference, input_);
    SP_ASSIGN_OR_RETURN(rec::ArchInfo base_info, rec::Analyze(base, input_));
    SP_RETURN_IF_ERROR(net->SetTeacher(base, base_info, options_.distill));
    const int64_t steps = SupernetSteps();
    const auto warmup = static_cast<int64_t>(kWarmupShare * static_cast<double>(steps));
    // One policy per FLOPs weight: one policy for all of them settles on one region of FLOPs, and
    // the front's other ends go unsearched.
    const size_t sets = std::size(kFlopsWeights);
    std::vector<std::vector<std::vector<double>>> policy(sets);
    for (auto& logits : policy) {
      for (const Dimension& d : space_.dims) logits.emplace_back(d.values.size(), 0.0);
    }
    std::vector<search::RewardBaseline> baseline(sets, search::RewardBaseline(kBaselineDecay));
    int64_t window = 0;
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      SP_ASSIGN_OR_RETURN(Candidate c, Drawn(Feasible([&] {
                            return step < warmup ? Random()
                                                 : Sample(policy[static_cast<size_t>(step) % sets]);
                          })));
      SP_ASSIGN_OR_RETURN(double loss, net->TrainStep(c.arch, c.info, step));
      SP_RETURN_IF_ERROR(net->TrainStep(base, base_info, step).status());  // same examples
      loss_sum += loss;
      if (step >= warmup && (step - warmup) % kPolicyEvery == 0) {
        const int64_t n = std::min(kRewardExamples, Eval());
        const int64_t from = (window++ * n) % (Eval() - n + 1);
        SP_ASSIGN_OR_RETURN(double base_loss, net->Loss(base, base_info, from, n));
        std::vector<Candidate> batch;
        std::vector<double> rewards;
        const size_t w = batches_++ % sets;
        for (int64_t k = 0; k < kReinforceBatch; ++k) {
          Result<Candidate> drawn = Feasible([&] { return Sample(policy[w]); });
          if (!drawn.ok() && options_.flops_max > 0) break;  // stuck over the limit: no update
          SP_ASSIGN_OR_RETURN(Candidate s, std::move(drawn));
          SP_ASSIGN_OR_RETURN(double l, net->Loss(s.arch, s.info, from, n));
          // The NE ratio to the baseline's on the same examples (the entropies cancel).
          s.proxy_score = l / base_loss;
          rewards.push_back(-Scalarized(s, kFlopsWeights[w]));
          batch.push_back(std::move(s));
        }
        if (static_cast<int64_t>(batch.size()) == kReinforceBatch) {
          UpdatePolicy(batch, baseline[w].Advantages(rewards), &policy[w]);
        }
      }
      Report(step, steps, &loss_sum, space_, policy[0], "lambda 0");
    }
    result_->supernet_steps = steps;
    // The answer: draws of the final policies, and random choices spread over FLOPs (the front's
    // cheap end), each scored on the supernet.
    std::vector<Choice> pool;
    for (int64_t k = 0; k < options_.budget; ++k) {
      // (A draw that stays over the FLOPs limit is left out: the supernet is trained.)
      const auto& logits = policy[static_cast<size_t>(k) % sets];
      Result<Candidate> c = Feasible([&] { return Sample(logits); });
      if (c.ok()) {
        pool.push_back(c->choice);
      } else if (options_.flops_max <= 0) {
        return c.status();  // not the limit: a real error
      }
    }
    SP_ASSIGN_OR_RETURN(std::vector<Choice> spread, SpreadStart(options_.budget, false));
    pool.insert(pool.end(), spread.begin(), spread.end());
    SP_RETURN_IF_ERROR(ScorePool(net.get(), pool, options_.tune_steps));
    net.reset();  // its memory, before the screen's trainings take theirs
    if (options_.screen == 0) return Status::Ok();
    SP_RETURN_IF_ERROR(ScreenOneShot());
    return Refine();
  }

  // DNAS (nas.h): `restarts` searches one after another, each its own supernet and logits (the
  // search seed's draws go on from one to the next), their answers screened together.
  Status RunDnas() {
    std::vector<size_t> picks;  // the screen's, in the history
    for (int64_t r = 0; r < options_.restarts; ++r) SP_RETURN_IF_ERROR(DnasSearch(r, &picks));
    if (options_.screen == 0) return Status::Ok();
    SP_RETURN_IF_ERROR(Screen(picks));
    return Refine();
  }

  // One DNAS search (restart `restart`): architecture logits per FLOPs target, hard
  // Gumbel-softmax draws, gates on the blocks each choice made, a constraint step while a draw is
  // outside its target's band; its answers scored on its supernet into the history, with the
  // screen the ones it would train appended to *picks.
  Status DnasSearch(int64_t restart, std::vector<size_t>* picks) {
    SP_ASSIGN_OR_RETURN(std::unique_ptr<rec::Supernet> net, MakeNet());
    const rec::Arch base = space_.Decode(space_.reference, input_);
    SP_ASSIGN_OR_RETURN(rec::ArchInfo base_info, rec::Analyze(base, input_));
    SP_RETURN_IF_ERROR(net->SetTeacher(base, base_info, options_.distill));
    std::vector<double> random_flops;
    SP_ASSIGN_OR_RETURN(std::vector<std::vector<double>> cost, FlopsTable(&random_flops));
    const std::vector<double> targets =
        DnasTargets(baseline_flops_, std::move(random_flops), options_.flops_max);
    if (targets.empty()) return Status::Invalid("nas: DNAS found no FLOPs target");  // (nas.h)
    // Each set's band: from the target before it (the first: any FLOPs) to its own.
    std::vector<double> floors(targets.size(), 0.0);
    for (size_t w = 1; w < targets.size(); ++w) floors[w] = targets[w - 1];
    const std::string label = fmt::format("target {:.0f} FLOPs", targets.front());
    if (progress_) {
      std::vector<std::string> shown;
      for (double t : targets) shown.push_back(fmt::format("{:.0f}", t));
      progress_(fmt::format("DNAS{}: one set of logits per FLOPs target: {}",
                            options_.restarts > 1
                                ? fmt::format(", search {} of {}", restart + 1, options_.restarts)
                                : "",
                            Join(shown, ", ")));
    }
    const int64_t steps = SupernetSteps();
    const size_t sets = targets.size();
    std::vector<std::vector<std::vector<double>>> alpha(sets);
    std::vector<std::vector<std::vector<double>>> m(sets), v(sets);  // Adam's moments
    for (size_t w = 0; w < sets; ++w) {
      for (const Dimension& d : space_.dims) {
        alpha[w].emplace_back(d.values.size(), 0.0);
        m[w].emplace_back(d.values.size(), 0.0);
        v[w].emplace_back(d.values.size(), 0.0);
      }
    }
    std::vector<int64_t> updates(sets, 0);
    // The gate derivative's moving mean per logits set and dimension (nas.h).
    std::vector<std::vector<double>> gate_mean(sets, std::vector<double>(space_.dims.size(), 0));
    std::vector<std::vector<bool>> has_mean(sets, std::vector<bool>(space_.dims.size(), false));
    // NE's denominator: the whole scoring set's (a batch-sized window may hold no click).
    const double entropy = rec::LabelEntropy(data_.valid, 0, Eval());
    const auto warmup = static_cast<int64_t>(kWarmupShare * static_cast<double>(steps));
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const size_t w = static_cast<size_t>(step) % sets;
      const double tau =
          kTauStart * std::pow(kTauEnd / kTauStart,
                               static_cast<double>(std::max<int64_t>(0, step - warmup)) /
                                   static_cast<double>(std::max<int64_t>(1, steps - warmup - 1)));
      std::vector<std::vector<double>> soft;
      SP_ASSIGN_OR_RETURN(
          Candidate c,
          Drawn(Feasible([&] { return step < warmup ? Random() : Gumbel(alpha[w], tau, &soft); })));
      SP_ASSIGN_OR_RETURN(double loss, net->TrainStep(c.arch, c.info, step));
      SP_RETURN_IF_ERROR(net->TrainStep(base, base_info, step).status());  // as one-shot's
      loss_sum += loss;
      if (step < warmup) {  // the weights first, as the one-shot family's
        Report(step, steps, &loss_sum, space_, alpha[0], label.c_str());
        continue;
      }
      // The architecture step on valid examples, with a fresh draw (none while the logits stay
      // over the FLOPs limit).
      Result<Candidate> drawn = Feasible([&] { return Gumbel(alpha[w], tau, &soft); });
      if (!drawn.ok() && options_.flops_max > 0) {
        Report(step, steps, &loss_sum, space_, alpha[0], label.c_str());
        continue;
      }
      SP_ASSIGN_OR_RETURN(Candidate a, std::move(drawn));
      std::vector<std::string> carriers;
      space_.Decode(a.choice, input_, &carriers);  // the same architecture, with its carriers
      const int64_t n = std::min(train_.batch, Eval());
      const int64_t from = ((step / static_cast<int64_t>(sets)) * n) % (Eval() - n + 1);
      std::vector<double> grads;
      SP_RETURN_IF_ERROR(net->Loss(a.arch, a.info, from, n, carriers, &grads).status());
      ++updates[w];
      for (size_t d = 0; d < alpha[w].size(); ++d) {
        double centred = 0;  // no gate carries this draw's choice: no signal
        if (!carriers[d].empty()) {
          const double raw = grads[d] / entropy;
          if (!has_mean[w][d]) {
            gate_mean[w][d] = raw;
            has_mean[w][d] = true;
          }
          centred = raw - gate_mean[w][d];
          gate_mean[w][d] = kBaselineDecay * gate_mean[w][d] + (1 - kBaselineDecay) * raw;
        }
        // Adam sees NE's gradient alone: its per-value scaling would turn any steady FLOPs term,
        // however small its weight, into full steps (every lambda above 0 collapsed so).
        const std::vector<double> grad =
            DnasLogitGradient(alpha[w][d], soft[d], a.choice[d], centred, tau, 0, cost[d]);
        // The band: a draw over its target moves the logits down the expected ln FLOPs by a
        // plain step (zero gate: the cost term alone), one under its floor up it.
        const double side = a.flops > targets[w] ? 1.0 : a.flops < floors[w] ? -1.0 : 0.0;
        const std::vector<double> over =
            side != 0 ? DnasLogitGradient(alpha[w][d], soft[d], a.choice[d], 0, tau, side, cost[d])
                      : std::vector<double>(grad.size(), 0.0);
        for (size_t j = 0; j < grad.size(); ++j) {
          alpha[w][d][j] -= kTargetRate * over[j];
          const double g = grad[j];
          constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
          m[w][d][j] = kBeta1 * m[w][d][j] + (1 - kBeta1) * g;
          v[w][d][j] = kBeta2 * v[w][d][j] + (1 - kBeta2) * g * g;
          const double mh = m[w][d][j] / (1 - std::pow(kBeta1, static_cast<double>(updates[w])));
          const double vh = v[w][d][j] / (1 - std::pow(kBeta2, static_cast<double>(updates[w])));
          alpha[w][d][j] -= kAlphaRate * mh / (std::sqrt(vh) + kEps);
        }
      }
      Report(step, steps, &loss_sum, space_, alpha[0], label.c_str());
    }
    result_->supernet_steps = steps;
    // The answer: each target's most likely architecture, moved into its band where it is not
    // (LikeliestInBand; its nearest reach where it cannot), and, where that is still
    // over the FLOPs limit, draws of the logits within it; with the screen, its likeliest
    // variants too, kDnasVariantsScored times as many as the screen trains. All are scored on
    // the supernet (after tune_steps of their own, as one-shot's answers); the screen trains,
    // per target, the answer and its variants of the best supernet NE, and RunNas retrains the
    // front of the screen's scores (without the screen, the answer itself).
    std::vector<std::vector<Choice>> per_target(sets);
    const size_t variants =
        options_.screen < 0 ? static_cast<size_t>(kDnasScreenPerTarget)
        : options_.screen > 0
            ? static_cast<size_t>(std::max<int64_t>(
                  1, options_.screen / (static_cast<int64_t>(sets) * options_.restarts)))
            : 1;
    if (options_.screen < 0) {  // the family's own, as the report states it
      result_->options.screen =
          kDnasScreenPerTarget * static_cast<int64_t>(sets) * options_.restarts;
    }
    for (size_t w = 0; w < sets; ++w) {
      double flops = 0;
      SP_ASSIGN_OR_RETURN(Choice within, LikeliestWithin(alpha[w], floors[w], targets[w], &flops));
      if (options_.flops_max <= 0 || flops <= options_.flops_max) {
        per_target[w].push_back(within);
        SP_ASSIGN_OR_RETURN(
            std::vector<Choice> more,
            LikeliestVariants(alpha[w], within, std::min(floors[w], flops),
                              std::max(targets[w], flops), kDnasVariantsScored * (variants - 1)));
        per_target[w].insert(per_target[w].end(), more.begin(), more.end());
        continue;
      }
      Result<Candidate> c = Feasible([&] { return Sample(alpha[w]); });
      if (c.ok()) {
        per_target[w].push_back(c->choice);
      } else if (options_.flops_max <= 0) {
        return c.status();  // not the limit: a real error
      }                     // (over the limit 100 times: left out)
    }
    std::vector<Choice> pool;
    for (const auto& p : per_target) pool.insert(pool.end(), p.begin(), p.end());
    SP_RETURN_IF_ERROR(ScorePool(net.get(), pool, options_.tune_steps));
    if (options_.screen == 0) return Status::Ok();
    // The history's index of each architecture (a choice met twice is one entry).
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < result_->history.size(); ++i) {
      index[ArchKey(space_, result_->history[i].choice, input_)] = i;
    }
    for (const auto& p : per_target) {
      std::vector<size_t> at;
      for (const Choice& c : p) at.push_back(index.at(ArchKey(space_, c, input_)));
      if (at.empty()) continue;
      // The answer itself first, then its variants by supernet NE (failed ones skipped).
      std::stable_sort(at.begin() + 1, at.end(), [&](size_t a, size_t b) {
        return result_->history[a].supernet_ne < result_->history[b].supernet_ne;
      });
      size_t taken = 0;
      for (size_t i : at) {
        if (taken >= variants) break;
        if (result_->history[i].failed) continue;
        ++taken;
        if (std::find(picks->begin(), picks->end(), i) == picks->end()) picks->push_back(i);
      }
    }
    return Status::Ok();
  }

  // With the screen, DNAS's answer for one target also holds the `n` likeliest variants of its
  // answer `c` that change one dimension and cost from `floor` to `limit` FLOPs (the band, each
  // end widened to the answer's own FLOPs where it could not reach it), by log-probability lost.
  Result<std::vector<Choice>> LikeliestVariants(const std::vector<std::vector<double>>& alpha,
                                                const Choice& c, double floor, double limit,
                                                size_t n) {
    std::vector<std::pair<double, Choice>> ranked;
    for (size_t d = 0; d < c.size() && n > 0; ++d) {
      const std::vector<double>& a = alpha[d];
      for (uint32_t j = 0; j < a.size(); ++j) {
        if (j == c[d]) continue;
        Choice t = c;
        t[d] = j;
        SP_ASSIGN_OR_RETURN(rec::ArchInfo info, rec::Analyze(space_.Decode(t, input_), input_));
        if (info.flops > limit || info.flops < floor ||
            (options_.flops_max > 0 && info.flops > options_.flops_max)) {
          continue;
        }
        ranked.emplace_back(a[c[d]] - a[j], std::move(t));  // the log-probability lost
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<Choice> out;
    std::set<std::string> seen = {ArchKey(space_, c, input_)};
    for (auto& [lost, t] : ranked) {
      if (out.size() >= n) break;
      // Two choices can decode to one architecture (a width of a block the choice removes).
      if (seen.insert(ArchKey(space_, t, input_)).second) {
        out.push_back(std::move(t));
      }
    }
    return out;
  }

  int64_t Eval() const { return std::min(options_.proxy_eval, data_.valid.n); }

  Result<Choice> LikeliestWithin(const std::vector<std::vector<double>>& alpha, double floor,
                                 double target, double* flops_out) {
    return LikeliestInBand(
        alpha, floor, target,
        [&](const Choice& c) -> Result<double> {
          SP_ASSIGN_OR_RETURN(rec::ArchInfo info, rec::Analyze(space_.Decode(c, input_), input_));
          return info.flops;
        },
        flops_out);
  }

  // A supernet step's subnet: `drawn`, or, when a policy or a set of logits keeps drawing over
  // the FLOPs limit (one-shot's lambda 0 policy may settle there), a uniform draw within it.
  Result<Candidate> Drawn(Result<Candidate> drawn) {
    if (drawn.ok() || options_.flops_max <= 0) return drawn;
    return Feasible([&] { return Random(); });
  }

  // Supernet steps: the final training's epochs over the training split (nas.h).
  int64_t SupernetSteps() const {
    const int64_t n = train_.max_train_examples > 0
                          ? std::min(train_.max_train_examples, data_.train.n)
                          : data_.train.n;
    return std::max<int64_t>(1, train_.epochs * ((n + train_.batch - 1) / train_.batch));
  }

  // The supernet, after a check that it fits the memory left (SupernetMemory).
  Result<std::unique_ptr<rec::Supernet>> MakeNet() {
    rec::TrainOptions o = train_;
    o.threads = 1;  // as every candidate's: libtorch's threads could move the low bits
    o.progress = nullptr;
    SP_ASSIGN_OR_RETURN(
        rec::TrainBytes need,
        SupernetMemory(space_, input_, o, kSupernetMemoryDraws, options_.search_seed));
    if (const std::optional<double> room = AvailableMemoryBytes();
        room && need.state + need.activations > *room) {
      return Status::Invalid(fmt::format(
          "nas: the {} family's supernet needs about {:.3g} GB ({:.3g} GB of weights and "
          "optimizer state, the embedding table at the space's largest embedding dimension "
          "among them; {:.3g} GB of activations) and this process may take {:.3g} GB more "
          "(allowed: a smaller --table-rows or --batch; --method sampling, which makes no "
          "supernet; or more free memory: another machine, or a higher ulimit -v)",
          options_.method, (need.state + need.activations) / 1e9, need.state / 1e9,
          need.activations / 1e9, *room / 1e9));
    }
    return rec::MakeSupernet(data_, o);
  }

  // Per dimension and value: the mean ln FLOPs of random choices with that value, less the mean
  // over all (a main-effect table; DNAS's constraint steps down its expectation under the
  // logits). The random choices' FLOPs go to *flops.
  Result<std::vector<std::vector<double>>> FlopsTable(std::vector<double>* flops) {
    std::vector<std::vector<double>> sum, count;
    for (const Dimension& d : space_.dims) {
      sum.emplace_back(d.values.size(), 0.0);
      count.emplace_back(d.values.size(), 0.0);
    }
    double total = 0;
    const int64_t refused = result_->over_flops;
    for (int64_t i = 0; i < kCostingDraws; ++i) {
      SP_ASSIGN_OR_RETURN(Candidate c, Feasible([&] { return Random(); }));
      flops->push_back(c.flops);
      const double f = std::log(std::max(c.flops, 1.0));
      total += f;
      for (size_t d = 0; d < c.choice.size(); ++d) {
        sum[d][c.choice[d]] += f;
        count[d][c.choice[d]] += 1;
      }
    }
    result_->over_flops = refused;
    const double mean = total / static_cast<double>(kCostingDraws);
    for (size_t d = 0; d < sum.size(); ++d) {
      for (size_t j = 0; j < sum[d].size(); ++j) {
        sum[d][j] = count[d][j] > 0 ? sum[d][j] / count[d][j] - mean : 0;
      }
    }
    return sum;
  }

  // A hard Gumbel-softmax draw: per dimension argmax (alpha + g) with g ~ Gumbel(0, 1); the
  // soft weights softmax((alpha + g) / tau) into *soft.
  Choice Gumbel(const std::vector<std::vector<double>>& alpha, double tau,
                std::vector<std::vector<double>>* soft) {
    Choice c(alpha.size());
    soft->assign(alpha.size(), {});
    std::uniform_real_distribution<double> u(1e-12, 1.0);
    for (size_t d = 0; d < alpha.size(); ++d) {
      std::vector<double> z;
      for (double a : alpha[d]) z.push_back(a - std::log(-std::log(u(rng_))));
      c[d] = static_cast<uint32_t>(std::max_element(z.begin(), z.end()) - z.begin());
      (*soft)[d] = Softmax(z, tau);
    }
    return c;
  }

  // Progress every 5% of the supernet's steps: the mean training loss since the last line and
  // the policy's most likely choice.
  void Report(int64_t step, int64_t steps, double* loss_sum, const Space& space,
              const std::vector<std::vector<double>>& logits, const char* whose) {
    const int64_t every = std::max<int64_t>(1, steps / 20);
    if (!progress_ || ((step + 1) % every != 0 && step + 1 != steps)) return;
    Choice best(logits.size());
    for (size_t d = 0; d < best.size(); ++d) {
      best[d] = static_cast<uint32_t>(std::max_element(logits[d].begin(), logits[d].end()) -
                                      logits[d].begin());
    }
    const int64_t n = (step + 1) % every == 0 ? every : (step + 1) % every;
    progress_(fmt::format("supernet step {:>6}/{}: train loss {:.4f}; most likely ({}) {}",
                          step + 1, steps, *loss_sum / static_cast<double>(n), whose,
                          rec::DescribeArch(space.Decode(best, input_))));
    *loss_sum = 0;
  }

  // Scores the distinct architectures of `pool` (feasible choices) on the supernet (NE on the
  // first proxy_eval valid examples, after `tune_steps` steps of their own) into the history.
  Status ScorePool(rec::Supernet* net, const std::vector<Choice>& pool, int64_t tune_steps) {
    const int64_t n = Eval();
    const double entropy = rec::LabelEntropy(data_.valid, 0, n);
    for (const Choice& choice : pool) {
      Candidate c;
      c.choice = choice;
      c.arch = space_.Decode(choice, input_);
      const std::string key = ArchKey(c.arch);
      if (cache_.count(key) > 0) continue;
      SP_ASSIGN_OR_RETURN(c.info, rec::Analyze(c.arch, input_));
      c.flops = c.info.flops;
      c.params = c.info.params;
      c.arch.name = fmt::format("nas-{}", result_->history.size());
      Result<double> loss = net->TunedLoss(c.arch, c.info, 0, n, tune_steps, kTuneLrScale);
      if (loss.ok()) {
        c.supernet_ne = c.proxy_ne = c.proxy_score = *loss / entropy;
      } else {
        c.failed = true;
        c.error = loss.status().message();
        c.proxy_ne = c.proxy_score = kFailedScore;
      }
      cache_[key] = c;
      result_->history.push_back(c);
      if (progress_ && !c.failed) {
        progress_(fmt::format("{:>8}: supernet NE {:.4f} {:>9.0f} FLOPs  {}", c.arch.name,
                              c.proxy_ne, c.flops, rec::DescribeArch(c.arch)));
      }
    }
    return Status::Ok();
  }

  // `advantages`: search::RewardBaseline's, in units of the rewards' moving deviation.
  void UpdatePolicy(const std::vector<Candidate>& batch, const std::vector<double>& advantages,
                    std::vector<std::vector<double>>* logits) {
    for (size_t d = 0; d < logits->size(); ++d) {
      std::vector<uint32_t> chosen;
      for (const Candidate& c : batch) chosen.push_back(c.choice[d]);
      std::vector<double> g =
          search::PolicyGradient((*logits)[d], chosen, advantages, 0, kEntropyBonus);
      for (size_t v = 0; v < g.size(); ++v) (*logits)[d][v] += kPolicyLearningRate * g[v];
    }
  }

 private:
  uint32_t Draw(size_t n) {
    return static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, n - 1)(rng_));
  }
  const Candidate& Tournament(const std::vector<Candidate>& population) {
    const double lambda = kFlopsWeights[Draw(std::size(kFlopsWeights))];
    const Candidate* best = nullptr;
    for (int64_t t = 0; t < options_.tournament; ++t) {
      const Candidate& c = population[Draw(population.size())];
      if (best == nullptr || Scalarized(c, lambda) < Scalarized(*best, lambda)) best = &c;
    }
    return *best;
  }
  Choice Sample(const std::vector<std::vector<double>>& logits) {
    Choice c(logits.size());
    for (size_t d = 0; d < logits.size(); ++d) {
      double top = *std::max_element(logits[d].begin(), logits[d].end()), sum = 0;
      std::vector<double> p;
      for (double l : logits[d]) {
        p.push_back(std::exp(l - top));
        sum += p.back();
      }
      double u = std::uniform_real_distribution<double>(0, sum)(rng_);
      uint32_t v = 0;
      while (v + 1 < p.size() && u >= p[v]) u -= p[v++];
      c[d] = v;
    }
    return c;
  }

  const Space& space_;
  const rec::CtrData& data_;
  rec::InputShape input_;
  rec::TrainOptions train_;
  std::shared_ptr<const rec::EmbeddingStart> proxy_start_;
  NasOptions options_;
  std::vector<double> baseline_flops_;  // DNAS's targets come from them
  NasResult* result_;
  NasProgress progress_;
  std::mt19937_64 rng_;
  std::map<std::string, Candidate> cache_;  // by the unnamed architecture's JSON
  int64_t trained_ = 0, draws_ = 0;
  size_t batches_ = 0;
  Clock::time_point started_;                   // the run's start (NasOptions::time_limit_s)
  std::function<Status()> before_limit_;        // called before the limit is first asked (RunNas)
  int64_t full_trained_ = 0, full_scored_ = 0;  // examples of one final training
  double group_s_ = 0;  // the last low-fidelity runs' wall per group side by side (Timed)
};

Result<std::vector<std::string>> BaselineList(const std::string& text) {
  if (text == "all") return rec::BaselineNames();
  if (text == "none") return std::vector<std::string>{};
  std::vector<std::string> names = SplitAndTrim(text, ',');
  const std::vector<std::string> known = rec::BaselineNames();
  if (names.empty()) {  // "," or " ": separators only (none is "none")
    return Status::Invalid(
        fmt::format("--baselines: '{}' names no baseline (allowed: all, none or a list of {})",
                    Printable(text, 64), Join(known, ", ")));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (std::find(known.begin(), known.end(), n) == known.end()) {
      return Status::Invalid(
          fmt::format("--baselines: {} is unknown (allowed: all, none or a "
                      "list of {})",
                      Printable(n, 64), Join(known, ", ")));
    }
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), n) !=
        names.begin() + static_cast<std::ptrdiff_t>(i)) {
      return Status::Invalid(fmt::format(
          "--baselines: {} is named twice (allowed: each baseline once)", Printable(n, 64)));
    }
  }
  return names;
}

}  // namespace

std::vector<Candidate> Front(const std::vector<Candidate>& history, int64_t keep,
                             std::vector<double> anchors) {
  std::vector<Candidate> sorted;
  for (const Candidate& c : history) {
    if (!c.failed) sorted.push_back(c);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const Candidate& a, const Candidate& b) {
    return a.flops != b.flops ? a.flops < b.flops : a.proxy_score < b.proxy_score;
  });
  std::vector<size_t> front;  // indices into sorted, in FLOPs order
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!front.empty() && sorted[i].proxy_score >= sorted[front.back()].proxy_score) continue;
    front.push_back(i);
  }
  // Each anchor's pick: the best proxy score in its band (the anchor before it, exclusive, to its
  // own FLOPs). Where the front has a model there, that is the front's last model at no more
  // FLOPs; where it has none, a model the front dominates (nas.h); an empty band falls back to
  // the front's last model at no more FLOPs (none under the cheapest).
  std::sort(anchors.begin(), anchors.end());
  anchors.erase(std::unique(anchors.begin(), anchors.end()), anchors.end());
  std::vector<size_t> anchored;
  double below = -std::numeric_limits<double>::infinity();  // the band's exclusive lower end
  for (double a : anchors) {
    std::optional<size_t> best;
    for (size_t i = 0; i < sorted.size() && sorted[i].flops <= a; ++i) {
      if (sorted[i].flops > below && (!best || sorted[i].proxy_score < sorted[*best].proxy_score))
        best = i;
    }
    if (!best) {
      auto at = std::upper_bound(front.begin(), front.end(), a,
                                 [&](double f, size_t i) { return f < sorted[i].flops; });
      if (at != front.begin()) best = *(at - 1);
    }
    if (best) anchored.push_back(*best);
    below = a;
  }
  std::set<size_t> off_front;  // the anchors' dominated picks
  for (size_t i : anchored) {
    if (!std::binary_search(front.begin(), front.end(), i)) off_front.insert(i);
  }
  std::set<size_t> pick;
  if (static_cast<int64_t>(front.size() + off_front.size()) <= keep) {
    pick.insert(front.begin(), front.end());
    pick.insert(off_front.begin(), off_front.end());
  } else if (!front.empty()) {
    pick.insert(front.back());  // the best score
    for (size_t i : anchored) {
      if (static_cast<int64_t>(pick.size()) >= keep) break;
      pick.insert(i);
    }
    // The slots left go to the unpicked front models at evenly spaced ranks, cheapest to dearest
    // (one slot: the cheapest).
    std::vector<size_t> rest;
    for (size_t i : front) {
      if (!pick.contains(i)) rest.push_back(i);
    }
    const int64_t slots = std::max<int64_t>(0, keep - static_cast<int64_t>(pick.size()));
    const auto r = static_cast<int64_t>(rest.size());
    for (int64_t k = 0; k < slots && k < r; ++k) {
      pick.insert(rest[static_cast<size_t>(
          slots > 1 ? std::llround(static_cast<double>(k) * static_cast<double>(r - 1) /
                                   static_cast<double>(slots - 1))
                    : 0)]);
    }
  }
  std::vector<Candidate> thin;
  for (size_t i : pick) thin.push_back(sorted[i]);
  return thin;
}

std::vector<Candidate> FrontLayers(const std::vector<Candidate>& history, int64_t keep,
                                   const std::vector<double>& anchors) {
  std::vector<Candidate> out, rest = history;
  while (static_cast<int64_t>(out.size()) < keep) {
    const std::vector<Candidate> layer =
        Front(rest, keep - static_cast<int64_t>(out.size()), anchors);
    if (layer.empty()) break;
    std::set<std::string> taken;
    for (const Candidate& c : layer) taken.insert(c.arch.name);
    std::erase_if(rest, [&](const Candidate& c) { return taken.contains(c.arch.name); });
    out.insert(out.end(), layer.begin(), layer.end());
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Candidate& a, const Candidate& b) { return a.flops < b.flops; });
  return out;
}

namespace {

// An architecture's key without its names: its blocks renamed by position, so that one model met
// under other block names (a stage's blocks named for stage 1 or stage 2) is one key.
std::string ModelKey(rec::Arch arch) {
  std::map<std::string, std::string> to;
  for (size_t i = 0; i < arch.blocks.size(); ++i) to[arch.blocks[i].name] = fmt::format("b{}", i);
  auto rename = [&](std::string& n) {
    if (auto it = to.find(n); it != to.end()) n = it->second;
  };
  arch.name.clear();
  for (rec::Block& b : arch.blocks) {
    rename(b.name);
    for (std::string& in : b.inputs) rename(in);
  }
  rename(arch.output);
  return ArchKey(arch);
}

}  // namespace

std::vector<Candidate> WithRunnersUp(std::vector<Candidate> picked,
                                     const std::vector<Candidate>& pool,
                                     std::vector<double> anchors, int64_t per_band) {
  std::set<std::string> taken;
  for (const Candidate& c : picked) taken.insert(ModelKey(c.arch));
  std::vector<const Candidate*> ranked;
  for (const Candidate& c : pool) {
    if (!c.failed) ranked.push_back(&c);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Candidate* a, const Candidate* b) {
    return a->proxy_score < b->proxy_score;
  });
  std::sort(anchors.begin(), anchors.end());
  anchors.erase(std::unique(anchors.begin(), anchors.end()), anchors.end());
  double below = -std::numeric_limits<double>::infinity();  // the band's exclusive lower end
  for (double a : anchors) {
    int64_t rank = 0;
    for (const Candidate* c : ranked) {
      if (rank >= per_band) break;
      if (c->flops <= below || c->flops > a || !taken.insert(ModelKey(c->arch)).second) continue;
      picked.push_back(*c);
      picked.back().runner_up = ++rank;
    }
    below = a;
  }
  return picked;
}

namespace {

std::vector<Candidate> FinalFront(const std::vector<Candidate>& history, const NasOptions& options,
                                  int64_t screened, const std::vector<double>& baseline_flops) {
  if (screened > 0) {  // the screen's scores pick the front (nas.h)
    std::vector<Candidate> picked;
    for (const Candidate& c : history) {
      if (c.screened) picked.push_back(c);
    }
    return WithRunnersUp(FrontLayers(picked, options.retrain, baseline_flops), picked,
                         baseline_flops, options.runners_up);
  }
  if (options.method != "dnas") {
    return WithRunnersUp(FrontLayers(history, options.retrain, baseline_flops), history,
                         baseline_flops, options.runners_up);
  }
  std::vector<Candidate> all;
  for (const Candidate& c : history) {
    if (!c.failed) all.push_back(c);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Candidate& a, const Candidate& b) { return a.flops < b.flops; });
  if (static_cast<int64_t>(all.size()) <= options.retrain) return all;
  std::vector<Candidate> thin;  // at most `retrain`, evenly spaced in FLOPs order
  for (int64_t k = 0; k < options.retrain; ++k) {
    thin.push_back(
        all[static_cast<size_t>(k) * (all.size() - 1) / static_cast<size_t>(options.retrain - 1)]);
  }
  return thin;
}

}  // namespace

double ProjectedTrainingS(const rec::TrainResult& low, int64_t low_scored, int64_t trained,
                          int64_t scored) {
  const double setup = std::max(0.0, low.wall_s - low.train_s - low.score_s);
  const double per_trained = low.examples > 0 ? low.train_s / static_cast<double>(low.examples) : 0;
  const double per_scored = low_scored > 0 ? low.score_s / static_cast<double>(low_scored) : 0;
  return setup + per_trained * static_cast<double>(trained) +
         per_scored * static_cast<double>(scored);
}

double GroupedWallS(const std::vector<double>& job_s, int64_t threads, int64_t processes) {
  const int64_t n = std::max<int64_t>(1, processes);
  const auto width = static_cast<size_t>(std::max<int64_t>(1, (threads + n - 1) / n));
  double slowest = 0;
  for (int64_t rank = 0; rank < n; ++rank) {
    std::vector<double> mine;
    for (size_t i = static_cast<size_t>(rank); i < job_s.size(); i += static_cast<size_t>(n)) {
      mine.push_back(job_s[i]);
    }
    double wall = 0;
    for (size_t from = 0; from < mine.size(); from += width) {
      const size_t to = std::min(mine.size(), from + width);
      wall += *std::max_element(mine.begin() + static_cast<std::ptrdiff_t>(from),
                                mine.begin() + static_cast<std::ptrdiff_t>(to));
    }
    slowest = std::max(slowest, wall);
  }
  return slowest;
}

Choice Mutate(const Space& space, const Choice& parent, const rec::InputShape& input,
              std::mt19937_64* rng, int64_t* neutral) {
  auto draw = [&](size_t n) {
    return static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, n - 1)(*rng));
  };
  const std::string before = ArchKey(space, parent, input);
  Choice c = parent;
  for (int i = 0; i < kMaxRedraws; ++i) {
    c = parent;
    const size_t d = draw(c.size());
    const auto n = static_cast<uint32_t>(space.dims[d].values.size());
    if (n > 1) c[d] = (c[d] + 1 + draw(n - 1)) % n;
    if (ArchKey(space, c, input) != before) break;
    ++*neutral;
  }
  return c;
}

Result<Choice> LikeliestInBand(const std::vector<std::vector<double>>& alpha, double floor,
                               double target,
                               const std::function<Result<double>(const Choice&)>& flops,
                               double* flops_out) {
  std::vector<std::vector<double>> log_p;  // log softmax, without the softmax's underflow
  for (const std::vector<double>& a : alpha) {
    const double top = *std::max_element(a.begin(), a.end());
    double sum = 0;
    for (double v : a) sum += std::exp(v - top);
    log_p.emplace_back();
    for (double v : a) log_p.back().push_back(v - top - std::log(sum));
  }
  Choice c(alpha.size());
  for (size_t d = 0; d < c.size(); ++d) {
    c[d] = static_cast<uint32_t>(std::max_element(alpha[d].begin(), alpha[d].end()) -
                                 alpha[d].begin());
  }
  SP_ASSIGN_OR_RETURN(double f, flops(c));
  // One change of the least log-probability among those `allowed` (by the FLOPs they give);
  // false when none is.
  auto move = [&](const std::function<bool(double)>& allowed) -> Result<bool> {
    std::optional<std::pair<size_t, uint32_t>> step;
    double step_loss = 0, step_flops = f;
    for (size_t d = 0; d < c.size(); ++d) {
      for (uint32_t j = 0; j < alpha[d].size(); ++j) {
        if (j == c[d]) continue;
        Choice t = c;
        t[d] = j;
        SP_ASSIGN_OR_RETURN(double tf, flops(t));
        const double loss = log_p[d][c[d]] - log_p[d][j];
        if (allowed(tf) && (!step || loss < step_loss)) {
          step = {d, j};
          step_loss = loss;
          step_flops = tf;
        }
      }
    }
    if (!step) return false;
    c[step->first] = step->second;
    f = step_flops;
    return true;
  };
  while (f > target) {
    SP_ASSIGN_OR_RETURN(bool moved, move([&](double tf) { return tf < f; }));
    if (!moved) break;
  }
  while (f < floor) {
    SP_ASSIGN_OR_RETURN(bool moved, move([&](double tf) { return tf > f && tf <= target; }));
    if (!moved) break;
  }
  *flops_out = f;
  return c;
}

std::vector<double> DnasLogitGradient(const std::vector<double>& alpha,
                                      const std::vector<double>& soft, uint32_t chosen,
                                      double gate_grad, double tau, double lambda,
                                      const std::vector<double>& cost) {
  const std::vector<double> p = Softmax(alpha);
  double mean_cost = 0;
  for (size_t j = 0; j < p.size(); ++j) mean_cost += p[j] * cost[j];
  std::vector<double> g(alpha.size());
  for (size_t j = 0; j < g.size(); ++j) {
    // Straight-through: d y_c / d alpha_j = y_c (1[j = c] - y_j) / tau.
    const double through = gate_grad * soft[chosen] * ((j == chosen ? 1.0 : 0.0) - soft[j]) / tau;
    g[j] = through + lambda * p[j] * (cost[j] - mean_cost);
  }
  return g;
}

std::vector<size_t> SpreadByLogFlops(const std::vector<double>& flops, int64_t n) {
  std::vector<size_t> out;
  if (flops.empty() || n <= 0) return out;
  const double lo = std::log(std::max(flops.front(), 1.0));
  const double hi = std::log(std::max(flops.back(), 1.0));
  size_t i = 0;
  for (int64_t k = 0; k < n && i < flops.size(); ++k, ++i) {
    const double level =
        n > 1 ? lo + (hi - lo) * static_cast<double>(k) / static_cast<double>(n - 1) : lo;
    while (i + 1 < flops.size() && std::log(std::max(flops[i], 1.0)) < level &&
           static_cast<int64_t>(flops.size() - i) > n - k) {
      ++i;
    }
    out.push_back(i);
  }
  return out;
}

NasResult::Versus Judge(const Scored& baseline, const Scored& model, int64_t seeds) {
  NasResult::Versus v;
  v.baseline = baseline.name;
  v.model = model.name;
  v.margin = baseline.test.ne - model.test.ne;
  v.beats = v.margin > 0;
  v.tested = seeds > 1;
  if (seeds > 1) {
    const double se = std::sqrt(
        (baseline.test_ne_sd * baseline.test_ne_sd + model.test_ne_sd * model.test_ne_sd) /
        static_cast<double>(seeds));
    const double noise = TCritical(2 * (seeds - 1)) * se;
    v.significant = v.margin > noise;
    v.worse = -v.margin > noise;
  }
  return v;
}

std::string NasResult::Versus::Verdict() const {
  if (model.empty()) return "no_model";
  if (!tested) return beats ? "beaten_untested" : "missed_untested";
  if (beats) return significant ? "beaten_significant" : "beaten_within_noise";
  return worse ? "missed_significant" : "missed_within_noise";
}

Result<rec::TrainBytes> SupernetMemory(const Space& space, const rec::InputShape& input,
                                       const rec::TrainOptions& train, int64_t draws,
                                       uint64_t seed) {
  std::mt19937_64 rng(seed);
  double embedding = 0, dense_max = 0, activations_max = 0, elements_max = 0;
  rec::TrainBytes reference;
  for (int64_t k = -1; k < draws; ++k) {  // k = -1: the reference
    Choice c = space.reference;
    if (k >= 0) {
      for (size_t d = 0; d < c.size(); ++d) {
        c[d] = std::uniform_int_distribution<uint32_t>(
            0, static_cast<uint32_t>(space.dims[d].values.size() - 1))(rng);
      }
    }
    const rec::Arch arch = space.Decode(c, input);
    SP_ASSIGN_OR_RETURN(rec::ArchInfo info, rec::Analyze(arch, input));
    const rec::TrainBytes b = rec::TrainMemory(arch, info, train);
    const double table = 8 * info.embedding_params;  // TrainMemory's bytes per embedding element
    embedding = std::max(embedding, table);
    if (k < 0) {
      reference = b;
      reference.state -= table;
      continue;
    }
    dense_max = std::max(dense_max, b.state - table);
    activations_max = std::max(activations_max, b.activations);
    elements_max = std::max(elements_max, b.activation_elements);
  }
  rec::TrainBytes need;
  need.state = embedding + reference.state + dense_max;
  need.activations = reference.activations + activations_max;
  need.activation_elements = reference.activation_elements + elements_max;
  return need;
}

std::vector<double> DnasTargets(std::vector<double> baseline_flops,
                                std::vector<double> random_flops, double flops_max) {
  std::vector<double> targets;
  if (!baseline_flops.empty()) {
    std::sort(baseline_flops.begin(), baseline_flops.end());
    for (double f : baseline_flops) {
      if (targets.empty() || f > targets.back()) targets.push_back(f);
    }
  } else if (!random_flops.empty()) {
    std::sort(random_flops.begin(), random_flops.end());
    for (double q : kTargetQuantiles) {
      const auto i = static_cast<size_t>(q * static_cast<double>(random_flops.size() - 1));
      if (targets.empty() || random_flops[i] > targets.back()) targets.push_back(random_flops[i]);
    }
  }
  if (flops_max > 0) {
    std::erase_if(targets, [&](double t) { return t > flops_max; });
    if (targets.empty()) targets.push_back(flops_max);
  }
  return targets;
}

namespace {

// The controller that drives the method (NasOptions::controller).
Result<std::string> FamilyController(const NasOptions& options) {
  const std::string& m = options.method;
  const std::string& c = options.controller;
  if (c == "auto") {
    return std::string(m == "sampling"  ? "evolution"
                       : m == "oneshot" ? "reinforce"
                                        : "gumbel-softmax");
  }
  const bool fits = (m == "sampling" && (c == "evolution" || c == "reinforce")) ||
                    (m == "oneshot" && c == "reinforce") || (m == "dnas" && c == "gumbel-softmax");
  if (!fits) {
    return Status::Invalid(fmt::format(
        "nas.controller = {} does not drive nas.method = {} (allowed: auto; sampling: evolution "
        "or reinforce; oneshot: reinforce; dnas: gumbel-softmax)",
        c, m));
  }
  return c;
}

}  // namespace

int64_t RefineOf(const NasOptions& options) {
  if (options.refine >= 0) return options.refine;
  return options.method == "dnas" && options.screen != 0 ? kDnasRefine : 0;
}

Status CheckGivenOptionsApply(const NasOptions& options,
                              const std::function<bool(std::string_view key)>& given) {
  SP_ASSIGN_OR_RETURN(std::string controller, FamilyController(options));
  auto refuse = [&](std::string_view key, std::string_view owner) {
    return Status::Invalid(fmt::format("nas.{} changes nothing under --method {} (controller "
                                       "{}) (allowed: {}; or leave it out)",
                                       key, options.method, controller, owner))
        .WithKey(fmt::format("nas.{}", key));
  };
  if (given("tournament") && controller != "evolution" && RefineOf(options) == 0) {
    return refuse("tournament",
                  "--method sampling with the evolution controller, or a --refine, whose "
                  "children it picks the parents of");
  }
  if (given("refine") && options.method == "sampling") {
    return refuse("refine", "--method oneshot or dnas, whose screen it goes on from");
  }
  if (options.refine > 0 && options.screen == 0) {
    return refuse("refine", "a --screen other than 0: it goes on from the screen's front");
  }
  if (given("screen") && options.method == "sampling") {
    return refuse("screen", "--method oneshot or dnas, whose answers it trains");
  }
  if (given("tune_steps") && options.method == "sampling") {
    return refuse("tune_steps", "--method oneshot or dnas, whose answers it scores");
  }
  if (given("distill") && options.method == "sampling") {
    return refuse("distill", "--method oneshot or dnas, whose supernet it trains");
  }
  if (given("budget") && options.method == "dnas") {
    return refuse("budget",
                  "--method sampling or oneshot; DNAS's answer is its logits' (--screen)");
  }
  if (given("proxy_embeddings") && options.method != "sampling" && options.screen == 0) {
    return refuse("proxy_embeddings",
                  "--method sampling, or a --screen, whose candidates train at low fidelity");
  }
  if (given("runners_up") && options.method == "dnas" && options.screen == 0) {
    return refuse("runners_up",
                  "a --screen other than 0, whose proxy scores rank a band's runners-up");
  }
  if (given("runners_up") && options.baselines == "none") {
    return Status::Invalid(
               "nas.runners_up changes nothing with --baselines none (allowed: baselines, whose "
               "FLOPs make the bands it picks runners-up in; or leave it out)")
        .WithKey("nas.runners_up");
  }
  if (given("restarts") && options.method != "dnas") {
    return refuse("restarts", "--method dnas, whose searches it repeats");
  }
  return Status::Ok();
}

const spec::Schema<NasOptions>& NasOptionsSchema() {
  static const spec::Schema<NasOptions> schema = [] {
    using N = NasOptions;
    spec::Schema<N> s("nas");
    s.OneOf("method", &N::method, {"sampling", "oneshot", "dnas"},
            "search family: candidates trained apart, or one weight-sharing supernet")
        .OneOf("controller", &N::controller, {"auto", "evolution", "reinforce", "gumbel-softmax"},
               "auto: the family's own (sampling: evolution, oneshot: reinforce, dnas: "
               "gumbel-softmax); sampling also takes reinforce")
        .OneOf("space", &N::space, SpaceNames(), "search space (nas/space.h)")
        .Integer("budget", &N::budget, 0, 100000, "",
                 fmt::format("sampling: candidates trained; oneshot: draws of the answer "
                             "(and as many random choices); 0: the family's own (sampling {}, "
                             "oneshot {})",
                             DefaultBudget("sampling"), DefaultBudget("oneshot")))
        .Number("flops_max", &N::flops_max, 0, 1e15, "FLOP",
                "per-example forward FLOPs limit of a candidate; 0 = none")
        .Integer("proxy_examples", &N::proxy_examples, 100, int64_t{1} << 40, "",
                 "training examples per candidate (low fidelity)")
        .Integer("proxy_eval", &N::proxy_eval, 100, int64_t{1} << 40, "",
                 "validation examples per candidate")
        .OneOf("proxy_embeddings", &N::proxy_embeddings, {"pretrained", "fresh"},
               "how a candidate's low-fidelity run starts its embedding rows: pretrained (the "
               "space's reference model trained on the whole training split, once per embedding "
               "dimension) or fresh")
        .Integer("population", &N::population, 2, 10000, "",
                 "evolution and the refinement: population size; both controllers: the first "
                 "candidates (at most the budget), spread over FLOPs")
        .Integer("tournament", &N::tournament, 1, 10000, "",
                 "evolution and the refinement: tournament size, members drawn with replacement "
                 "(so it may exceed the population: a larger one picks the best more surely)")
        .Integer("retrain", &N::retrain, 2, 100, "",
                 "front candidates retrained on the whole training split")
        .Integer("runners_up", &N::runners_up, 0, 100, "",
                 "per baseline's FLOPs band, the candidates of the next best proxy scores "
                 "retrained in full beside the front, each judged as the front's models are; "
                 "not under dnas with --screen 0 or with --baselines none")
        .Integer("screen", &N::screen, -1, 10000, "",
                 fmt::format("oneshot, dnas: answers trained at low fidelity as sampling's "
                             "candidates are, whose scores pick the front (oneshot: this many; "
                             "dnas: max(1, this / (FLOPs targets x restarts)) per target and "
                             "search, duplicates once); -1: the family's own (oneshot {}, dnas {} "
                             "per target and search); 0: the supernet's scores (oneshot) or the "
                             "answer as it is (dnas)",
                             kOneShotScreen, kDnasScreenPerTarget))
        .Integer("tune_steps", &N::tune_steps, 0, rec::kMaxTuneSteps, "",
                 fmt::format("oneshot, dnas: steps of its own each answer trains on the "
                             "supernet (embeddings frozen, at {} of the learning rate) before its "
                             "supernet score, its weights then put back; 0: scored on the "
                             "weights as the supernet holds them",
                             kTuneLrScale))
        .Number("distill", &N::distill, 0, 1, "",
                "oneshot, dnas: the weight of the co-trained reference model's predicted "
                "probabilities in the targets the other subnets train on (in-place "
                "distillation); 0: the labels alone")
        .Integer("refine", &N::refine, -1, 100000, "",
                 fmt::format("oneshot, dnas: candidates trained at low fidelity after the "
                             "screen, children of regularized evolution from the screen's front; "
                             "-1: the family's own (dnas {} with a screen, oneshot 0); 0: none",
                             kDnasRefine))
        .Integer("restarts", &N::restarts, 1, 10, "",
                 "dnas: searches one after another, each its own supernet and logits, their "
                 "answers screened together (per target and search max(1, screen / (targets x "
                 "restarts)))")
        .Integer("final_seeds", &N::final_seeds, 1, 10, "",
                 "seeds each retrained model and baseline trains with (test NE: their mean)")
        .Number("time_limit_s", &N::time_limit_s, 0, 1e7, "s",
                "the whole run's wall-clock limit: the sampling family and the refinement stop "
                "before a batch that, with the baselines' training and the front's retraining "
                "as projected, would pass it (the data's loading, the baselines, the supernet's "
                "steps and the screen are not cut; at least the first population trains); 0 = "
                "none")
        .Text("baselines", &N::baselines,
              "hand-designed models trained beside: all, none, or a comma list")
        .Unsigned("search_seed", &N::search_seed, "seed of the controller's draws")
        .Integer("parallel", &N::parallel, 1, 64, "",
                 "candidates trained at once; also the batch the sampling family's controller and "
                 "the refinement propose before they learn its scores, so it changes their "
                 "answer");
    return s;
  }();
  return schema;
}

int64_t DefaultBudget(std::string_view method) { return method == "sampling" ? 300 : 150; }

Result<NasResult> RunNas(const rec::DataOptions& data_options, const rec::TrainOptions& train,
                         const NasOptions& given, const NasProgress& progress,
                         const std::function<Status()>& inputs_read, const rec::OptionName& name) {
  const Clock::time_point started = Clock::now();
  SP_RETURN_IF_ERROR(NasOptionsSchema().CheckValues(given));
  NasOptions options = given;
  if (options.budget == 0) options.budget = DefaultBudget(options.method);
  // The screen's default: one-shot's here, DNAS's per FLOPs target once it has its targets
  // (kDnasScreenPerTarget); unused by the sampling family.
  if (options.screen < 0 && options.method != "dnas") options.screen = kOneShotScreen;
  options.refine = RefineOf(options);
  SP_ASSIGN_OR_RETURN(const std::string controller, FamilyController(options));
  SP_ASSIGN_OR_RETURN(Space space, MakeSpace(options.space));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> baseline_names, BaselineList(options.baselines));
  SP_ASSIGN_OR_RETURN(rec::LoadedData loaded, rec::LoadData(data_options));
  if (inputs_read) SP_RETURN_IF_ERROR(inputs_read());
  const double cpu0 = CpuSeconds();
  const rec::CtrData& data = loaded.data;
  NasResult result;
  result.data_name = data.name;
  result.controller = controller;
  result.data_options = data_options;
  result.train = train;
  result.train.progress = nullptr;
  result.options = options;
  result.options.processes = nullptr;  // (callbacks and processes: not the result's to keep)
  result.space_size = space.Size();
  result.train_examples = data.train.n;
  result.test_examples = data.test.n;
  if (loaded.spec) result.bayes_test = rec::BayesMetrics(data.test, train.max_eval_examples);
  SP_RETURN_IF_ERROR(rec::CheckTrainSetup(data, train, name));
  SP_ASSIGN_OR_RETURN(result.blas, rec::TrainerBlas());
  // (One-shot and DNAS train candidates at low fidelity only with the screen.)
  const bool trains = options.method == "sampling" || options.screen != 0;
  {
    // The candidates' low-fidelity runs train on the first proxy_examples and score the first
    // proxy_eval valid examples: checked up front too (one label there fails every candidate,
    // one by one), their errors naming those two.
    rec::TrainOptions proxy = train;
    if (trains) proxy.max_train_examples = options.proxy_examples;
    proxy.max_eval_examples = options.proxy_eval;
    proxy.evaluate_test = false;
    SP_RETURN_IF_ERROR(rec::CheckTrainSetup(data, proxy, [&name](std::string_view key) {
                         return rec::NameOf(name,
                                            key == "train.max_train_examples" ? "nas.proxy_examples"
                                            : key == "train.max_eval_examples" ? "nas.proxy_eval"
                                                                               : key);
                       }).WithContext("the candidates' low-fidelity runs"));
  }
  // The baselines, trained in full (train_baselines below); their FLOPs set DNAS's targets (a
  // model of no more FLOPs is what beats one).
  std::vector<rec::Arch> baseline_archs;
  std::vector<double> baseline_flops;
  for (const std::string& baseline : baseline_names) {
    SP_ASSIGN_OR_RETURN(rec::Arch a, rec::MakeBaseline(baseline, rec::InputOf(data)));
    SP_ASSIGN_OR_RETURN(rec::ArchInfo info, rec::Analyze(a, rec::InputOf(data)));
    baseline_flops.push_back(info.flops);
    baseline_archs.push_back(std::move(a));
  }
  // Trains `archs` in full, final_seeds times each (seeds train.seed, train.seed + 1, ...: one
  // run's test NE moves by about 0.005 with the seed, as much as the models differ), scored on
  // test by their mean; a model that diverges is left out and named in `failed`, not fatal.
  auto train_in_full = [&](const std::vector<rec::Arch>& archs) -> Result<std::vector<Scored>> {
    std::vector<std::pair<const rec::Arch*, rec::TrainOptions>> jobs;
    for (const rec::Arch& a : archs) {
      for (int64_t k = 0; k < options.final_seeds; ++k) {
        jobs.emplace_back(&a, FinalTraining(train, k));
      }
    }
    SP_ASSIGN_OR_RETURN(std::vector<Result<rec::TrainResult>> trained,
                        TrainAll(jobs, data, options.parallel, options.processes));
    const auto seeds = static_cast<size_t>(options.final_seeds);
    std::vector<Scored> out;
    for (size_t i = 0; i < archs.size(); ++i) {
      Scored s;
      s.name = archs[i].name;
      s.arch = archs[i];
      SP_ASSIGN_OR_RETURN(s.info, rec::Analyze(archs[i], rec::InputOf(data)));
      const Status failed = [&] {
        for (size_t k = 0; k < seeds; ++k) {
          if (!trained[i * seeds + k].ok()) return trained[i * seeds + k].status();
        }
        return Status::Ok();
      }();
      if (!failed.ok()) {
        result.failed.push_back(fmt::format("{}: {}", s.name, failed.message()));
        continue;
      }
      for (size_t k = 0; k < seeds; ++k) {
        const Result<rec::TrainResult>& r = trained[i * seeds + k];
        s.test_ne.push_back(r->test.ne);
        const double w = 1.0 / static_cast<double>(seeds);
        s.valid.ne += w * r->valid.ne;
        s.valid.auc += w * r->valid.auc;
        s.valid.log_loss += w * r->valid.log_loss;
        s.valid.ctr = r->valid.ctr;
        s.valid.examples = r->valid.examples;
        s.test.ne += w * r->test.ne;
        s.test.auc += w * r->test.auc;
        s.test.log_loss += w * r->test.log_loss;
        s.test.ctr = r->test.ctr;
        s.test.examples = r->test.examples;
        s.train_s += w * r->train_s;
      }
      double var = 0;
      for (double ne : s.test_ne) var += (ne - s.test.ne) * (ne - s.test.ne);
      s.test_ne_sd = seeds > 1 ? std::sqrt(var / static_cast<double>(seeds - 1)) : 0;
      out.push_back(std::move(s));
    }
    return out;
  };
  // The baselines train once: with a time limit, when the search first asks it (after its first
  // population, or before the refinement: so that a search's own errors come before them, and
  // the time so far then holds their walls); else, or if it never asks, after the search.
  bool baselines_trained = false;
  auto train_baselines = [&]() -> Status {
    if (baselines_trained || baseline_archs.empty()) return Status::Ok();
    baselines_trained = true;
    if (progress) {
      progress(fmt::format("training {} baselines in full, {} seeds each", baseline_archs.size(),
                           options.final_seeds));
    }
    const Clock::time_point from = Clock::now();
    SP_ASSIGN_OR_RETURN(result.baselines, train_in_full(baseline_archs));
    result.baselines_s = SecondsSince(from);
    return Status::Ok();
  };
  Searcher searcher(space, data, train, options, baseline_flops, &result, progress, started,
                    train_baselines);
  if (trains && options.proxy_embeddings == "pretrained") {
    SP_ASSIGN_OR_RETURN(std::shared_ptr<const rec::EmbeddingStart> start,
                        PretrainEmbeddings(space, data, train, options, progress, &result.failed));
    searcher.StartProxiesFrom(std::move(start));
  }
  const std::string time_note = fmt::format(
      "nas.time_limit_s = {:g} (the answer depends on the machine's speed)", options.time_limit_s);
  if (options.method == "oneshot" || options.method == "dnas") {
    SP_RETURN_IF_ERROR(options.method == "oneshot" ? searcher.RunOneShot() : searcher.RunDnas());
    result.stop_reason = "supernet steps: train.epochs over the training split";
    if (result.time_limited) {
      result.stop_reason += fmt::format("; the refinement stopped after {} of {} children by {}",
                                        result.refined, options.refine, time_note);
    }
  } else {
    SP_RETURN_IF_ERROR(controller == "evolution" ? searcher.RunEvolution()
                                                 : searcher.RunReinforce());
    result.stop_reason =
        result.time_limited ? fmt::format("{} of {} candidates trained when {} stopped it",
                                          result.history.size(), options.budget, time_note)
        : static_cast<int64_t>(result.history.size()) >= options.budget
            ? "budget of trained candidates"
            : "10 x budget draws: the space (or the FLOPs limit) left few new architectures";
  }
  const std::vector<Candidate> front =
      FinalFront(result.history, options, result.screened, baseline_flops);
  if (front.empty()) {
    std::string first = "none scored";  // the first failure's reason
    for (const Candidate& c : result.history) {
      if (c.failed) {
        first = c.error;
        break;
      }
    }
    return Status::Invalid(
        fmt::format("nas: no candidate trained successfully (the first: {})", first));
  }

  searcher.StartProxiesFrom(nullptr);  // the pretrained tables' memory, before the final models'
  SP_RETURN_IF_ERROR(train_baselines());
  // Retrain the front in full; score on test.
  std::vector<rec::Arch> archs;
  for (const Candidate& c : front) archs.push_back(c.arch);
  if (progress) {
    const auto runners_up = std::count_if(front.begin(), front.end(),
                                          [](const Candidate& c) { return c.runner_up > 0; });
    progress(fmt::format(
        "retraining {} front models in full{}, {} seeds each", front.size(),
        runners_up > 0 ? fmt::format(" ({} of them runners-up)", runners_up) : std::string(),
        options.final_seeds));
  }
  result.front_projected_s = searcher.FrontProjectedS(front);
  const size_t failed_before = result.failed.size();
  {
    const Clock::time_point from = Clock::now();
    SP_ASSIGN_OR_RETURN(result.pareto, train_in_full(archs));
    result.front_s = SecondsSince(from);
  }
  for (Scored& s : result.pareto) {
    for (const Candidate& c : front) {
      if (c.arch.name == s.name) s.runner_up = c.runner_up;
    }
  }
  std::stable_sort(result.pareto.begin(), result.pareto.end(),
                   [](const Scored& a, const Scored& b) { return a.info.flops < b.info.flops; });
  if (result.pareto.empty()) {
    return Status::Invalid(fmt::format("nas: every front model failed in full training ({})",
                                       result.failed.at(failed_before)));
  }
  {
    // Does the proxy rank the front as full training does?
    std::vector<double> proxy, test;
    for (const Scored& m : result.pareto) {
      if (m.runner_up > 0) continue;  // the front's own (runners-up are ranked within a band)
      for (const Candidate& c : result.history) {
        if (c.arch.name == m.name) {
          proxy.push_back(c.proxy_score);
          test.push_back(m.test.ne);
        }
      }
    }
    if (proxy.size() >= 3) result.proxy_spearman = validate::Spearman(proxy, test);
  }
  const Scored* best = &result.pareto.front();
  for (const Scored& s : result.pareto) {
    if (s.test.ne < best->test.ne) best = &s;
  }
  result.best = best->name;
  for (const Scored& b : result.baselines) {
    NasResult::Versus v;
    v.baseline = b.name;
    const Scored* pick = nullptr;
    for (const Scored& s : result.pareto) {
      // Chosen on validation, compared on test: the minimum of noisy test means would bias
      // the margin.
      if (s.info.flops <= b.info.flops && (pick == nullptr || s.valid.ne < pick->valid.ne)) {
        pick = &s;
      }
    }
    result.versus.push_back(pick != nullptr ? Judge(b, *pick, options.final_seeds) : v);
  }
  result.wall_s = SecondsSince(started);
  // CPU time in all: under mpirun every process adds its own (ranks that are threads of one
  // process already share its clock).
  result.search_cpu_s = CpuSeconds() - cpu0;
  if (ProcessCount(options.processes) > 1 && options.processes->separate_processes()) {
    WireWriter w;
    w.F64(result.search_cpu_s);
    SP_ASSIGN_OR_RETURN(std::vector<std::string> shares,
                        options.processes->AllGather("nas search cpu seconds", w.Take()));
    result.search_cpu_s = 0;
    for (size_t r = 0; r < shares.size(); ++r) {
      WireReader in(shares[r], fmt::format("nas cpu seconds of rank {}", r));
      SP_ASSIGN_OR_RETURN(double cpu, in.F64());
      SP_RETURN_IF_ERROR(in.Done());
      result.search_cpu_s += cpu;
    }
  }
  return result;
}

}  // namespace scaleplan::nas
