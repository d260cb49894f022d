// Ranking-model architecture search (Rankitect, arXiv:2311.08430): `scaleplan nas`.
//
// Three families on one space (Rankitect compares them so); every one ends the same way: its
// candidates' front is retrained from scratch beside the baselines (below).
//
// Sampling-based family: a controller proposes choices of a space
// (nas/space.h); each candidate within the FLOPs limit is trained briefly (the first
// proxy_examples training examples, one epoch) and scored on the first proxy_eval validation
// examples by a low-fidelity metric that includes the training curve's trend:
//   score = NE_valid - kTrendWeight * (L_q3 - L_q4) / L_q3
// where L_q3 and L_q4 are the mean training log loss over the third and last quarter of the
// steps: of two candidates with one NE, the one still learning is preferred (it gains more from
// the full run). Lower is better. Controllers:
//   evolution   regularized evolution (Real et al., arXiv:1802.01548): a population of
//               `population` aged first-in first-out, tournaments of `tournament`, a child
//               mutates one dimension of the winner (redrawn while the change leaves its
//               architecture as it was: no clones). The first population is spread over FLOPs:
//               64 x population random choices costed (not trained), taken at levels evenly
//               spaced in ln FLOPs (SpreadByLogFlops); in a space built around an engineer's
//               model (Space::start_from_reference) that model takes the place of the member
//               nearest it in ln FLOPs.
//   reinforce   a factorised categorical policy over the dimensions, REINFORCE with a moving
//               baseline that also scales the step (search::RewardBaseline: advantages in
//               units of the rewards' moving deviation, one baseline per FLOPs weight) and an
//               entropy bonus (search::PolicyGradient, shared with the plan search), reward =
//               -score, batches of 4. Its first `population` candidates are
//               evolution's spread start, in FLOPs order; the policy is updated on them as on
//               its own draws (a warm start: no importance weights). Both controllers' start
//               holds at most `budget` candidates.
// Both controllers look for the whole NE-FLOPs front, not one point: each evolution tournament,
// and each REINFORCE batch in turn, ranks by score + lambda * ln(FLOPs) with lambda drawn from
// {0, 0.0025, 0.005, 0.01, 0.02} (scalarization; lambda 0.01 trades a 2.7x FLOPs cut for 0.01
// NE). Every candidate trains with the same seed, so all see the training examples in one order
// and the curves' batch-to-batch noise is common to them.
// Candidates over the FLOPs limit are redrawn (up to 100 times) and counted, never trained.
//
// One-shot family (Rankitect's; ENAS, arXiv:1802.03268, and TuNAS, arXiv:2008.06120, train a
// supernet and a policy the same way): one weight-sharing supernet (rec/supernet.h) trained as a
// model is in full (train.epochs over the training split: one epoch by default, as CTR models
// are trained; more overfits the embeddings: a supernet trained for the sampling family's 6
// million examples, 7.5 epochs of the default spec, scored every subnet above NE 1), two
// architectures a step on the same batch: a subnet and
// the space's reference model (Space::reference, DLRM-like), co-trained in place as the
// baseline and the subnets' teacher: a subnet fits the reference's predicted click
// probabilities on the batch (weight NasOptions::distill; the reference itself the labels),
// in-place distillation as BigNAS's (arXiv:2003.11142): a click label is a coin flip at the base
// rate, and subnets that fit the labels for the few hundred steps each part of the supernet
// trains come out alike. The first kWarmupShare of the steps take uniform subnets, the rest draws
// of factorised REINFORCE policies, one per FLOPs weight lambda, taking turns; every kPolicyEvery
// steps the next policy draws kReinforceBatch subnets, each scored on kRewardExamples valid
// examples beside the baseline on the same examples:
//   reward = -(L_subnet / L_baseline + lambda * ln FLOPs)
// (log losses on one set of examples: their ratio is the NE ratio), its advantage scaled as
// REINFORCE's (search::RewardBaseline, one per policy). The answer: budget draws
// of the final policies, taking turns, and budget random choices spread over FLOPs, each scored
// on the supernet (NE on the first proxy_eval valid examples, after tune_steps steps of its own
// on the same targets as the supernet's). A policy
// (or DNAS's logits) that keeps drawing over the FLOPs limit trains a uniform draw instead and
// skips its update.
//
// DNAS family (FBNet, arXiv:1812.03443; hard Gumbel-softmax as GDAS, arXiv:1910.04465): the same
// supernet, step count and in-place reference model (trained on each step's batch beside the
// drawn subnet, which fits its probabilities as one-shot's do); one set of architecture logits
// alpha per FLOPs target T (DnasTargets: each baseline's FLOPs), taking turns, each looking
// in its band [T', T] of FLOPs, T' the target before it (0 for the first): a model of no more FLOPs
// than a baseline is what can beat it, and the band keeps each set from settling where the set
// below it already looks (without it every set's answer sat at the cheap end, where a one-epoch
// supernet's most trained corners are: on the held-out spec 15 of the 19 screened answers were E 8,
// none above 69,574 FLOPs for targets up to 267,136). The first kWarmupShare of the steps train
// uniform subnets (the weights first, as the one-shot family's); after them, a step draws a choice
// by hard Gumbel-softmax (per dimension the argmax of alpha + g, g standard Gumbel), trains it on a
// training batch, then draws again and moves alpha by Adam on the gradient of NE(valid batch) (over
// the scoring set's entropy) and, when that draw costs more than T, by a plain step of kTargetRate
// down the gradient of
//   sum_d sum_j p_dj F_dj                                   (p = softmax(alpha))
// (when it costs less than T', up it), the expected ln FLOPs to first order: F_dj is the mean ln
// FLOPs of random choices with value j less the mean of all. The constraint is kept out of Adam on
// purpose: Adam scales each logit's steps by its gradient's own size, so a steady FLOPs term of any
// weight, beside NE's small and noisy one, makes full steps (a first version with weights lambda in
// {0.0025 ... 0.02} ended every lambda above 0 at a 464-FLOPs model without one sparse feature),
// and below its target a set's logits then move by NE alone. NE's gradient: every block that
// embodies a dimension's choice (Space::decode's carriers) has its output multiplied by a gate of
// value 1 whose gradient is the soft weight's (straight-through), d y_c / d alpha_j = y_c (1[j = c]
// - y_j) / tau with y = softmax((alpha + g) / tau), tau falling from kTauStart to kTauEnd after the
// warm-up. A choice that makes no block of its own (identity, none) has no gate: it moves only
// through the softmax's coupling with the others. The gate's derivative enters less its moving mean
// per target and dimension (decay kBaselineDecay, as REINFORCE's baseline; updated on the draws
// whose choice has a gate): while the supernet trains, scaling down any block's output tends to
// help, a derivative common to all of a dimension's options that says nothing among them, and
// uncentred it pushes every gated option down and so raises the options that make no block. The
// answer: each target's most likely architecture (one over its target is changed a dimension at a
// time, each time the FLOPs-lowering change that loses the least log-probability, until it meets
// it, or, where no change lowers the FLOPs further first, to the cheapest choice reached; one under
// its band's floor, likewise raised by changes that stay within the target; one still over the
// FLOPs limit gives way to draws) and, with the screen, its likeliest variants within the band. Not
// the supernet's front: a supernet trained for one epoch scores the subnets it rarely trained near
// NE 1 (median 1.00 over the 105 the one-shot search scored on the default spec), so its scores
// would pick the models it saw most, not the best (measured: a front of 5 models under 2,000
// FLOPs). Without the screen the answer, at most `retrain` of them evenly spaced in FLOPs, is
// retrained in full as it is. With `restarts` above 1 the whole search (supernet, reference and
// logits) runs that many times one after another, the search seed's draws going on from one to
// the next (without the screen the first is the single search; with it each search scores and
// screens its share of the variants), and the answers of all of them share the screen. An
// architecture an earlier search scored keeps that supernet's score (it is listed once), which a
// later search's choice of variants then compares with its own supernet's.
//
// The screen (one-shot and DNAS; NasOptions::screen, 0 turns it off): a supernet's scores and a
// DNAS argmax say which architectures are worth a look, not which is best (a subnet scored on a
// one-epoch supernet is judged by how often its weights trained as much as by its quality), so
// `screen` of them are trained as the sampling family's candidates are (proxy_examples, scored
// by the same low-fidelity score) and the front is taken from those scores. FBNet, whose DNAS
// this is, samples several architectures from its learnt distribution and trains them; this is
// that step at low fidelity. Which ones: one-shot, the supernet-scored answers by successive
// non-dominated layers of (FLOPs, supernet NE), the last layer thinned as Front thins; DNAS,
// per FLOPs target kDnasScreenPerTarget (a --screen given: max(1, screen / targets)): the
// repaired argmax (above) and, of its 4 times as
// many likeliest variants that change one dimension and stay within the band (by
// log-probability lost), those of the best supernet NE. Both families score their answers on
// the supernet after tune_steps steps of their own (rec::Supernet::TunedLoss): as the supernet
// holds them, the scratch space's subnets rank at about chance.
//
// After the search, the proxy scores' Pareto front (score against FLOPs) with each baseline's
// band's best score (Front; FrontLayers: topped up from the next non-dominated layers to
// `retrain` models; DNAS without the screen: its answer)
// is retrained from scratch on the whole training split with the final
// training options, as is every baseline, each with final_seeds seeds, and all are scored on the
// test split by their mean NE. Deterministic for the seeds unless the time limit stops the
// search (NasOptions::time_limit_s; 0 for none): candidates train `parallel` at a time in a
// fixed grouping.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/processes.h"
#include "core/status.h"
#include "nas/space.h"
#include "rec/run.h"
#include "spec/schema.h"

namespace scaleplan::nas {

inline constexpr double kTrendWeight = 1.0;
// The screen's default (NasOptions::screen -1): one-shot trains 24 answers; DNAS, per FLOPs
// target and search, its answer and 3 variants (48 with the 12 default baselines).
inline constexpr int64_t kOneShotScreen = 24;
inline constexpr int64_t kDnasScreenPerTarget = 4;
// The refinement's default (NasOptions::refine -1): DNAS with a screen trains 96 children of its
// screen's front; one-shot none. Measured on the scratch space and inside the engineer space,
// search seeds 1-3 on two specs (docs/NAS.md, "The refinement as DNAS's default"): with it
// DNAS's retrained fronts beat more baselines beyond the seeds' noise (46 against 31 over twelve
// paired runs, 1.25 more a run, paired t 2.3) and 122 of 144 baselines in all against 115;
// one-shot's beat as many as without it (54 of 72 against 53 from scratch).
inline constexpr int64_t kDnasRefine = 96;
// One-shot and DNAS: the dense learning rate's share an answer's own steps take before its
// supernet score (NasOptions::tune_steps). At the full rate 30 steps of its own leave even the
// co-trained reference model worse on the supernet (NE 0.894 to 0.929), at 0.1 of it they barely
// move it; 30 steps at 0.3 and 50 at 0.1 rank alike (docs/NAS.md, "Scored after steps of its own").
inline constexpr double kTuneLrScale = 0.3;

struct NasOptions {
  // Change the answer.
  std::string method = "sampling";  // sampling | oneshot | dnas
  std::string controller = "auto";  // auto | evolution | reinforce | gumbel-softmax
  std::string space = "scratch";
  // Sampling: candidates trained; oneshot: the answer's draws (DNAS: none). 0: the family's
  // own (DefaultBudget).
  int64_t budget = 0;
  double flops_max = 0;  // per example, forward; 0 = no limit
  // Training examples per candidate (sampling; the screen). 200,000 was tried twice and not kept
  // (docs/NAS.md, "The proxy at 200,000 examples"): ahead on the two specs it was chosen on, behind
  // on the held-out one.
  int64_t proxy_examples = 100000;
  int64_t proxy_eval = 20000;       // validation examples each candidate is scored on
  // How a candidate's low-fidelity run starts its embedding rows: "fresh" as a full training
  // starts them, or "pretrained" from the space's reference model trained once on the training
  // split at each of the space's embedding dimensions (PretrainEmbeddings), so that the proxy
  // would judge what a model makes of learnt rows rather than how fast it learns them. Measured
  // (docs/NAS.md, "The proxy's embeddings pretrained"): its rank correlation with full training
  // rose on the default spec and fell on the fresh one, and evolution beat no more baselines
  // with it; so fresh by default.
  std::string proxy_embeddings = "fresh";
  int64_t population = 12;          // evolution; both controllers: the spread start
  int64_t tournament = 4;           // evolution
  int64_t retrain = 8;              // Pareto candidates retrained in full (at most)
  // Beside those, per baseline's FLOPs band the next best proxy scores retrained in full too
  // (WithRunnersUp): a second stage at full fidelity, chosen among on validation as the front
  // is. Not under DNAS without the screen (its answer has no proxy scores), nor without
  // baselines (no bands). docs/NAS.md, "Runners-up": measured, not made the default.
  int64_t runners_up = 0;
  // oneshot: answers trained at low fidelity; dnas: per target and search
  // max(1, this / (targets x restarts)); -1, the default: the family's own (kOneShotScreen;
  // kDnasScreenPerTarget per target and search); 0: no screen
  int64_t screen = -1;
  // One-shot and DNAS: steps of its own each answer trains on the supernet before it is scored,
  // its weights then put back (rec::Supernet::TunedLoss; docs/NAS.md, "Scored after steps of its
  // own"); 0: scored on the weights as the supernet holds them.
  int64_t tune_steps = 30;
  // One-shot and DNAS: the weight of the co-trained reference model's predicted probabilities in
  // the targets every other subnet trains on (in-place distillation, rec::Supernet::SetTeacher;
  // docs/NAS.md, "Subnets that fit the reference"); 0: the labels alone.
  double distill = 1;
  // DNAS: searches one after another, each its own supernet and logits (the search seed's draws
  // going on), their answers screened together, the screen's share of each per target
  // max(1, screen / (targets x restarts)): a DNAS search's answer moves with its seed by more
  // than any change to it did, and DARTS (arXiv:1806.09055) keeps the best of 4 searches by a
  // short training of each. Measured with 2 on the scratch space (docs/NAS.md, "DNAS restarted"):
  // 39 baselines of 72 beaten over three search seeds and two specs against 36, all of the gain
  // one seed's, for a second supernet's training every run; so 1 by default.
  int64_t restarts = 1;
  // One-shot and DNAS, with the screen: candidates trained at low fidelity after it, children of
  // regularized evolution (the sampling family's tournaments and mutations) whose first
  // population is the screen's front, before the front is retrained. The supernet proposes;
  // the proxy, which judges the screen, searches the screen's neighbourhood, where one-shot's
  // answer pool holds no cheap model as good as evolution's (docs/NAS.md, "One-shot's whole
  // answer screened"). 0: none; -1, the default: the family's own (kDnasRefine under DNAS with a
  // screen, else none; RefineOf).
  int64_t refine = -1;
  int64_t final_seeds = 3;        // seeds per retrained model and baseline
  // The whole run's wall-clock limit, in seconds (0: none). Before each batch of candidates,
  // once the front holds a model, the sampling family and the refinement stop if the time so
  // far, the next batch's (as long as the last's) and the front's retraining as projected from
  // its models' low-fidelity runs (ProjectedTrainingS, GroupedWallS; taken half again as long,
  // nas.cpp's kProjectionMargin) would pass it. The baselines train when it is first asked, so
  // that the time so far holds them (and a search's own errors come before them); a search
  // that never asks trains them after. The data's loading, the baselines, the first
  // population, the supernet's steps and the screen are not cut, so a machine on which they
  // alone pass the limit passes it. It changes the answer only where it stops a search
  // (NasResult::time_limited), and then by the machine's speed (docs/NAS.md, "A time limit":
  // criteo-shaped's evolution runs took 22.5 minutes on one machine without it).
  double time_limit_s = 900;
  std::string baselines = "all";  // "all", "none" or a comma list of baseline names
  uint64_t search_seed = 1;       // the controller's draws (candidates train with the
                                  // train seed)
  // Models trained at once, each on one core (the supernet trains on one), in all the processes
  // together. Also sampling's batch and the refinement's: the controller proposes this many
  // before it learns their scores, so it changes the answer.
  int64_t parallel = 2;
  // Change only the speed: the processes the candidates' and the final models' training is dealt
  // out to (core/processes.h; nullptr: this one alone). The supernet of oneshot and dnas, and the
  // proxies' pretrained embeddings (proxy_embeddings), train whole in each process.
  const Processes* processes = nullptr;
};
const spec::Schema<NasOptions>& NasOptionsSchema();

// NasOptions::budget when it is 0. Sampling trains 300 candidates with either controller (150
// before 2026-12-06, 60 before 2026-12-04: docs/NAS.md, "Twice the candidates", measured with
// evolution); one-shot draws 150 answers and as many random choices, scored on the supernet
// (300 measured there and not kept); DNAS draws none, and its report gives one-shot's 150.
int64_t DefaultBudget(std::string_view method);

struct Candidate {
  Choice choice;
  rec::Arch arch;
  rec::ArchInfo info;  // Analyze's, computed once when the candidate is drawn
  double flops = 0, params = 0;
  double proxy_ne = 0, proxy_score = 0;
  // One-shot and DNAS: the candidate's NE on the supernet; screened: trained at low fidelity
  // (the screen, nas.h), which proxy_ne and proxy_score then hold.
  double supernet_ne = 0;
  bool screened = false;
  bool child = false;   // the refinement's (NasOptions::refine), never on the supernet
  bool failed = false;  // training failed (diverged): scored kFailedScore, never retrained
  int64_t runner_up = 0;  // retrained as its band's runner-up of this rank (WithRunnersUp); 0: not
  std::string error;
  // Trained at low fidelity: one full training's wall projected from it (ProjectedTrainingS).
  double full_s = 0;
};

struct Scored {
  std::string name;  // baseline name, or "nas-<i>"
  rec::Arch arch;
  rec::ArchInfo info;
  rec::Metrics valid, test;     // means over the final seeds (ctr, examples: the split's)
  std::vector<double> test_ne;  // per seed
  double test_ne_sd = 0;        // sample standard deviation over the seeds
  double train_s = 0;
  int64_t runner_up = 0;  // a found model retrained as its band's runner-up (Candidate's)
};

struct NasResult {
  std::string data_name;
  blas::BlasState blas;    // the trainer's matrix kernels (a model's NE depends on them)
  std::string controller;  // the one that drove the method (options.controller may be auto)
  double space_size = 0;
  int64_t train_examples = 0, test_examples = 0;
  std::optional<rec::Metrics> bayes_test;
  std::vector<Candidate> history;  // every candidate scored (trained, or on the supernet)
  int64_t over_flops = 0;          // draws refused by the FLOPs limit
  int64_t neutral_mutations = 0;   // evolution: mutations redrawn as they left the arch as it was
  int64_t supernet_steps = 0;      // one-shot and DNAS
  int64_t screened = 0;            // one-shot and DNAS: candidates the screen trained (and the
                                   // refinement: `refined` of them)
  int64_t refined = 0;
  std::vector<Scored> baselines;
  std::vector<Scored> pareto;  // retrained, sorted by FLOPs
  std::string best;            // the lowest test NE among pareto
  // Spearman rank correlation of the front's proxy scores with its mean test NEs after the full
  // retraining (1: the proxy ranks them as full training does; on a front the proxy score falls
  // as FLOPs rise, so it mostly asks whether test NE falls with FLOPs too); none under 3 front
  // models.
  std::optional<double> proxy_spearman;
  // For each baseline, the pareto model with no more FLOPs and the lowest test NE (empty when
  // none has no more FLOPs) and whether it beats the baseline's test NE.
  // model: among the front models with no more FLOPs, the lowest mean valid NE (chosen on
  // validation, compared on test); margin: the baseline's mean test NE minus the model's;
  // significant (a win) or worse (a loss): a two-sided 95% t test on the two means calls the
  // margin more than the seeds' noise (standard error from the seeds' spread, 2 (seeds - 1)
  // degrees of freedom). A margin within the noise either way is one these seeds cannot tell
  // from its opposite: two models of one quality, or a difference more seeds would show (three
  // seeds with spreads of 0.001-0.003 NE see margins past 0.002-0.007; docs/NAS.md, "How much
  // of a miss is noise").
  struct Versus {
    std::string baseline, model;
    double margin = 0;
    bool beats = false, significant = false, worse = false;
    bool tested = false;  // seeds > 1: a spread to test the margin against
    // "beaten_significant", "beaten_within_noise", "missed_within_noise", "missed_significant";
    // with one seed "beaten_untested" or "missed_untested"; with no model as cheap, "no_model".
    std::string Verdict() const;
  };
  std::vector<Versus> versus;
  // "name: error" of the models that failed a full training: a front model or baseline (left
  // out) or a reference pretrained for the proxies (its dimension's candidates start fresh).
  std::vector<std::string> failed;
  double search_cpu_s = 0;          // CPU time of the search and the retraining, all processes
  std::string stop_reason;
  // NasOptions::time_limit_s stopped the search: the answer depends on the machine's speed.
  bool time_limited = false;
  // Wall-clock seconds: the baselines' training, the front's retraining, and the front's
  // retraining as projected from its models' low-fidelity runs before it started (0: a front
  // without them: DNAS or one-shot without the screen); the whole run (data loaded to verdicts).
  double baselines_s = 0, front_s = 0, front_projected_s = 0, wall_s = 0;
  // The options it ran with, as given (the JSON report echoes them: a run is reproduced from
  // them and the data's file).
  rec::DataOptions data_options;
  rec::TrainOptions train;
  NasOptions options;
};

using NasProgress = std::function<void(const std::string& line)>;

// One full training's wall, in seconds, projected from a low-fidelity run of the same model
// (`low`, which scored `low_scored` examples): its set-up (the run's wall less its training and
// scoring) as it was, its training loop per example trained, its scoring per example scored,
// for a training of `trained` examples (all epochs) scoring `scored`.
double ProjectedTrainingS(const rec::TrainResult& low, int64_t low_scored, int64_t trained,
                          int64_t scored);

// The wall of trainings of `job_s` seconds each dealt out as nas's TrainAll deals them: job i to
// process i mod `processes`, each process `ceil(threads / processes)` at a time in the jobs'
// order, each group as long as its longest; the processes side by side.
double GroupedWallS(const std::vector<double>& job_s, int64_t threads, int64_t processes);

// DNAS's gradient of one dimension's logits `alpha` (nas.h's header): `soft` the draw's soft
// weights softmax((alpha + g) / tau), `chosen` its argmax, `gate_grad` the derivative of NE with
// respect to the chosen block's gate, `cost` the dimension's FLOPs table (mean ln FLOPs per value
// less the mean of all), p = softmax(alpha):
//   g_j = gate_grad y_c (1[j = c] - y_j) / tau + lambda p_j (F_j - sum_k p_k F_k)
// (the search calls it twice: lambda 0 for NE's part, gate 0 and lambda 1 for the cost's).
std::vector<double> DnasLogitGradient(const std::vector<double>& alpha,
                                      const std::vector<double>& soft, uint32_t chosen,
                                      double gate_grad, double tau, double lambda,
                                      const std::vector<double>& cost);

// Evolution's mutation: `parent` with one dimension, drawn with `rng`, changed to another of
// its values; redrawn (up to 100 times, each counted in *neutral) while the architecture decodes
// as the parent's. A change to a dimension the parent does not use (a stage past its depth,
// linear3d's width beside identity) makes a clone, which would join the population with the
// parent's score and push out a model of its own (about 3 changes in 4 for a one-stage parent
// of the scratch space).
Choice Mutate(const Space& space, const Choice& parent, const rec::InputShape& input,
              std::mt19937_64* rng, int64_t* neutral);

// DNAS's answer for one target: the argmax of the logits `alpha` (one vector per dimension),
// moved into its band [floor, target] of FLOPs (`flops` costs a choice) a dimension at a time,
// each time by the change that loses the least log-probability: first, while it costs more than
// `target`, of the changes that lower the FLOPs (where none lowers them further, the cheapest
// choice reached, over the target); then, while it costs less than `floor`, of the changes that
// raise them and stay within the target (where none does, the dearest reached, under the
// floor). Into *flops_out its FLOPs. Errors: those of `flops`.
Result<Choice> LikeliestInBand(const std::vector<std::vector<double>>& alpha, double floor,
                               double target,
                               const std::function<Result<double>(const Choice&)>& flops,
                               double* flops_out);

// DNAS's FLOPs targets (nas.h's header), in FLOPs: with baselines, their distinct FLOPs in
// ascending order, so that each set's band is the band the front gives that baseline (Front);
// without, the kTargetQuantiles of `random_flops` (costed random choices). Targets over
// `flops_max` (> 0) are dropped; if none is left, the limit itself is the one target. Empty only
// with no baselines, no random FLOPs and no limit (RunDnas refuses that). Until 2026-12-07 a
// baseline was a target only at 1.5x the last (6 targets of the 12 default baselines); one per
// baseline, with the screen's 4 answers per target, beat 115 baselines of 144 against 108 over
// the four cells of the target and three search seeds (docs/NAS.md, "A DNAS target per
// baseline").
inline constexpr double kTargetQuantiles[] = {0.1, 0.3, 0.5, 0.7, 0.9};
std::vector<double> DnasTargets(std::vector<double> baseline_flops,
                                std::vector<double> random_flops, double flops_max);

// The proxy front of the sampling and one-shot families: the candidates (failed ones left out)
// that no candidate of no more FLOPs beats on the proxy score, in FLOPs order, and for each
// anchor (the baselines' FLOPs) the best proxy score in its band, from the anchor before it
// (exclusive) to its own FLOPs, as DNAS's targets have bands: a baseline is compared with the
// retrained models of no more FLOPs, and the proxy, which trains every candidate on the same
// first examples, can favour cheap models (on MovieLens, whose whole training split it sees, the
// cheap scored as well as the dear), so a front can stop far under the
// dearer baselines (MovieLens, scratch space: at 1,426 FLOPs, under baselines of 7,832 to
// 144,136: docs/NAS.md). Where the
// front has a model in the band, that is the pick; where not, a model the front dominates,
// which the full retraining judges. Past `keep` it is thinned to: the best score; the anchors'
// picks, in ascending order (an empty band: the front's last model at no more FLOPs); the slots
// left, the other front models at evenly spaced ranks from the cheapest to the dearest. `keep`
// in all.
std::vector<Candidate> Front(const std::vector<Candidate>& history, int64_t keep,
                             std::vector<double> anchors);

// What is retrained (and what one-shot's screen trains): Front's models and, while they are fewer
// than `keep`, the front of the candidates left (the next non-dominated layer), thinned as Front
// thins to the slots left, and so on; in FLOPs order. A front of two models (a cheap candidate
// with the best proxy score dominates every dearer one) would otherwise leave the retraining's
// other slots empty, and a baseline's comparison to one model.
std::vector<Candidate> FrontLayers(const std::vector<Candidate>& history, int64_t keep,
                                   const std::vector<double>& anchors);

// What is retrained with NasOptions::runners_up: `picked` (FrontLayers') and, for each anchor's
// band as Front's (from the anchor before it, exclusive, to its own FLOPs), the `per_band` best
// proxy scores of `pool` (failed candidates left out) whose architecture `picked` and the bands'
// runners-up before them do not hold (one model under other block names counts once), each marked
// with its rank in its band (Candidate::runner_up: 1, the best of them). `picked` as given, then
// the runners-up band by band from the cheapest, each band's by rank: fewer runners-up are a
// prefix of more, and the front's trainings keep their places (TrainAll deals trainings out by
// index). The proxy ranks a band's close candidates little better than chance, and a cheap one
// trains in full in seconds, so the full training, which judges, may also pick among them (on
// validation NE, as NasResult::versus does).
std::vector<Candidate> WithRunnersUp(std::vector<Candidate> picked,
                                     const std::vector<Candidate>& pool,
                                     std::vector<double> anchors, int64_t per_band);

// The first population's spread (the sampling family's start, one-shot's random answers): of
// `flops`, the costs of random draws in ascending order, the indices of n draws at levels evenly
// spaced in ln FLOPs from the cheapest to the dearest, each the first unused draw not below its
// level (up to rounding: a draw exactly on a level may count as below it), while enough draws
// remain for the levels after it. Ranks would follow the draws' density, thin at the cheap end
// where the smallest baselines sit. min(n, flops.size()) distinct indices.
std::vector<size_t> SpreadByLogFlops(const std::vector<double>& flops, int64_t n);

// A baseline against the found model picked for it (NasResult::versus): the margin of their mean
// test NEs over `seeds` training seeds each, and whether a two-sided 95% t test (Student's t
// with 2 (seeds - 1) degrees of freedom, the standard error from both seeds' spreads) calls it
// a win (significant) or a loss (worse); one seed calls neither.
NasResult::Versus Judge(const Scored& baseline, const Scored& model, int64_t seeds);

// What a supernet on `input` holds at its peak, about (rec/supernet.h; rec::TrainMemory's
// bytes): its one embedding table at the largest embedding dimension met (the weights and
// sparse Adagrad's sums), the dense state of the space's reference and of the dearest of `draws`
// random choices (its own generator, `seed`: the search's draws stay as they were), and the
// activations of the two architectures a step trains (the reference beside a subnet). A floor
// rather than a bound: the store keeps every weight any subnet asked for, so its dense part can
// grow past two architectures' (these spaces' dense weights are megabytes beside the tables'
// gigabytes, which a large criteo --table-rows brings). One-shot and DNAS check it against the
// memory left before the supernet is made, as TrainAll checks a group of trainings.
Result<rec::TrainBytes> SupernetMemory(const Space& space, const rec::InputShape& input,
                                       const rec::TrainOptions& train, int64_t draws,
                                       uint64_t seed);
inline constexpr int64_t kSupernetMemoryDraws = 256;

// The refinement's size for these options: NasOptions::refine, or the family's own where it is
// -1 (kDnasRefine under DNAS with a screen, else 0).
int64_t RefineOf(const NasOptions& options);

// Options given (`given(key)`) that the method and controller chosen do not use are an error
// naming the option: tournament outside the evolution controller, screen under the sampling
// family. An unknown controller is RunNas's error, returned here too.
Status CheckGivenOptionsApply(const NasOptions& options,
                              const std::function<bool(std::string_view key)>& given);

// `inputs_read`, when given, is called once the data's file has been read, before any training:
// a caller's check that fails there (an output that would overwrite an input, core/file.h)
// stops the run before the search rather than at its end. Set-up errors name the train.* and
// nas.* options as `name` gives them (a command's flags).
Result<NasResult> RunNas(const rec::DataOptions& data, const rec::TrainOptions& train,
                         const NasOptions& options, const NasProgress& progress = nullptr,
                         const std::function<Status()>& inputs_read = nullptr,
                         const rec::OptionName& name = nullptr);

}  // namespace scaleplan::nas
