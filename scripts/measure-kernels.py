#!/usr/bin/env python3
# Measures the kernel throughput of one NVIDIA GPU for scaleplan's calibration tables.
#
# Run on a machine with a CUDA GPU and PyTorch (never by the build or the tests):
#   OUT=out GPU=h200 [SECTIONS=gemm,attention,...] [BUDGET_S=420] python3 scripts/measure-kernels.py
# SECTIONS runs a subset, in the order given (default: all, in the order below); BUDGET_S skips the
# sections that would start after that many seconds. step_memory starts a one-rank NCCL group;
# run it with PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to read torchtitan's allocator.
# GPU names the scaleplan GPU preset the card is (presets/gpus), written in each table's gpu column
# (`scaleplan validate` prices the rows on it).
# It writes, under $OUT:
#   env.txt        the GPU, driver, PyTorch, CUDA, cuBLAS and cuDNN versions, clocks and power limit
#   gemm.csv       GEMM throughput: a log2 grid of (m, n, k) in BF16, FP8 e4m3 tensorwise and FP8
#                  rowwise scaling (torch._scaled_mm), and the GEMMs of Llama 3 layers at TP 1-8 in
#                  the forward, data-gradient and weight-gradient layouts
#   attention.csv  torch SDPA (flash and cuDNN backends): forward and forward+backward, causal or
#                  not, head dim 64/128/256, 512 to 32768 keys (FlashAttention's benchmark shapes)
#   memops.csv     memory-bound kernels (norms, activations, rotary, loss, FP8 casts, AdamW), eager
#                  and torch.compile, with the bytes each must move and the kernels it launched
#   power.csv      15 s of back-to-back 8192^3 BF16 GEMMs: throughput, SM clock and power per window
#   layer.csv      a Llama 3 8B decoder layer in plain PyTorch (torchtitan's shape of code): forward
#                  and backward time, and the activation memory it keeps for backward
#   layer_audit.csv (section audit) every tensor that layer keeps for backward, eager (by autograd
#                  node and field) and compiled (as saved-tensor hooks receive them)
#   fp8_layer.csv  the layer with its linears in BF16, FP8 tensorwise and FP8 rowwise (torchao-shaped
#                  dynamic scaling through torch._scaled_mm), eager and compiled: time and kernels
#   step_memory.csv training steps of an 8-layer Llama 3 8B under FSDP2 on one rank, torchtitan's
#                  way: memory allocated, reserved and peak at each phase, one and two micro-batches
#
# Timing: CUDA events around a loop of back-to-back calls (launch gaps included, as in a training
# step), the median of 3 such loops after warm-up; inputs rotate among enough buffers that they do
# not sit in the 50-60 MB L2. Inputs are random (never zeros). Each section is independent: an error
# in one is logged and the others still run. The card's settings are only read, never changed.
import csv
import math
import os
import subprocess
import sys
import threading
import time
import traceback

import torch
import torch.nn.functional as F

OUT = os.environ.get("OUT", "out")
GPU = os.environ.get("GPU", "h200")
os.makedirs(OUT, exist_ok=True)
DEV = "cuda"
START = time.time()
BUDGET_S = float(os.environ.get("BUDGET_S", "420"))
LOG = open(os.path.join(OUT, "log.txt"), "w")


def log(*args):
    line = " ".join(str(a) for a in args)
    print(line, flush=True)
    LOG.write(line + "\n")
    LOG.flush()


def elapsed():
    return time.time() - START


class Table:
    def __init__(self, name, columns):
        self.f = open(os.path.join(OUT, name), "w", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow(["gpu"] + columns)
        self.f.flush()

    def row(self, *values):
        self.w.writerow([GPU] + [f"{v:.6g}" if isinstance(v, float) else v for v in values])
        self.f.flush()


def timed(fn, target_s=0.01, loops=3):
    """Seconds per call of fn: events around back-to-back calls, median of `loops` loops."""
    fn()
    torch.cuda.synchronize()
    t0 = time.time()
    fn()
    torch.cuda.synchronize()
    one = max(time.time() - t0, 1e-6)
    n = int(min(200, max(1, target_s / one)))
    for _ in range(min(n, 3)):
        fn()
    results = []
    for _ in range(loops):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(n):
            fn()
        b.record()
        b.synchronize()
        results.append(a.elapsed_time(b) / 1e3 / n)
    results.sort()
    return results[len(results) // 2]


def kernels_launched(fn):
    """CUDA kernels one call of fn launches (the profiler's device events)."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        return sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    except Exception as e:  # the profiler is a nicety
        log("profiler failed:", repr(e))
        return -1


def section(name, fn):
    if elapsed() > BUDGET_S:
        log(f"== {name}: skipped, {elapsed():.0f} s spent of {BUDGET_S:.0f}")
        return
    log(f"== {name} (at {elapsed():.0f} s)")
    try:
        fn()
    except Exception:
        log(traceback.format_exc())
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    log(f"== {name} done at {elapsed():.0f} s")


def buffers_for(bytes_each, make, total=256 << 20, most=32):
    count = int(min(most, max(1, math.ceil(total / max(bytes_each, 1)))))
    return [make() for _ in range(count)]


def environment():
    lines = []

    def cmd(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=60).stdout
        except Exception as e:
            return repr(e)

    p = torch.cuda.get_device_properties(0)
    lines.append(f"date_utc: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}")
    lines.append(f"gpu: {p.name}, {p.multi_processor_count} SMs, {p.total_memory} bytes")
    lines.append(f"torch: {torch.__version__}, cuda {torch.version.cuda}, "
                 f"cudnn {torch.backends.cudnn.version()}")
    try:
        from importlib import metadata

        for pkg in ("nvidia-cublas", "nvidia-cudnn-cu13", "triton"):
            try:
                lines.append(f"{pkg}: {metadata.version(pkg)}")
            except Exception:
                pass
    except Exception:
        pass
    lines.append(cmd("nvidia-smi"))
    lines.append(cmd("nvidia-smi -q -d CLOCK,POWER,PERFORMANCE,TEMPERATURE"))
    with open(os.path.join(OUT, "env.txt"), "w") as f:
        f.write("\n".join(lines))
    log(lines[1], "|", lines[2])


def gemm_one(dtype, layout, m, n, k):
    """Seconds of one m x k by k x n GEMM (model's m, n, k) in `dtype` and `layout`."""
    size = (m * k + k * n + m * n) * (1 if dtype != "bf16" else 2)
    if dtype == "bf16":
        if layout == "fwd":  # y[m,n] = x[m,k] @ W[n,k]^T (nn.Linear forward)
            mk = lambda: (torch.randn(m, k, device=DEV, dtype=torch.bfloat16),
                          torch.randn(n, k, device=DEV, dtype=torch.bfloat16))
            bufs = buffers_for(size, mk)
            it = [0]

            def run():
                a, w = bufs[it[0] % len(bufs)]
                it[0] += 1
                return a @ w.t()
        elif layout == "dgrad":  # dx[m,k'] = dy[m,n'] @ W[n',k']: inner dim k, output m x n
            mk = lambda: (torch.randn(m, k, device=DEV, dtype=torch.bfloat16),
                          torch.randn(k, n, device=DEV, dtype=torch.bfloat16))
            bufs = buffers_for(size, mk)
            it = [0]

            def run():
                a, w = bufs[it[0] % len(bufs)]
                it[0] += 1
                return a @ w
        else:  # wgrad: dW[m,n] = dy[k,m]^T @ x[k,n] (inner dim = tokens)
            mk = lambda: (torch.randn(k, m, device=DEV, dtype=torch.bfloat16),
                          torch.randn(k, n, device=DEV, dtype=torch.bfloat16))
            bufs = buffers_for(size, mk)
            it = [0]

            def run():
                a, x = bufs[it[0] % len(bufs)]
                it[0] += 1
                return a.t() @ x
    else:
        rowwise = dtype == "fp8_rowwise"

        def mk():
            a = torch.randn(m, k, device=DEV, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
            w = torch.randn(n, k, device=DEV, dtype=torch.bfloat16).to(torch.float8_e4m3fn)
            if rowwise:
                sa = torch.rand(m, 1, device=DEV, dtype=torch.float32) + 0.5
                sb = torch.rand(1, n, device=DEV, dtype=torch.float32) + 0.5
            else:
                sa = torch.tensor(0.9, device=DEV, dtype=torch.float32)
                sb = torch.tensor(1.1, device=DEV, dtype=torch.float32)
            return a, w, sa, sb

        bufs = buffers_for(size, mk)
        it = [0]

        def run():
            a, w, sa, sb = bufs[it[0] % len(bufs)]
            it[0] += 1
            return torch._scaled_mm(a, w.t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)

    s = timed(run)
    del bufs
    return s


def gemm_grid():
    t = Table("gemm.csv", ["set", "dtype", "layout", "m", "n", "k", "seconds", "tflops"])
    sizes = [1 << e for e in range(8, 16)]  # 256 .. 32768
    for dtype in ("bf16", "fp8_tensorwise", "fp8_rowwise"):
        t0 = elapsed()
        fails = 0
        for m in sizes:
            for n in sizes:
                for k in sizes:
                    try:
                        s = gemm_one(dtype, "fwd", m, n, k)
                        t.row("grid", dtype, "fwd", m, n, k, s, 2.0 * m * n * k / s / 1e12)
                    except Exception as e:
                        fails += 1
                        if fails <= 2:
                            log(f"gemm {dtype} {m}x{n}x{k}: {e!r}")
                        if fails > 20:
                            break
                if fails > 20:
                    break
            torch.cuda.empty_cache()
            if fails > 20:
                log(f"gemm {dtype}: too many failures, stopping this dtype")
                break
        log(f"gemm grid {dtype}: {elapsed() - t0:.0f} s")

    # Llama 3 layers (8B, 70B, 405B) at TP 1, 2, 4, 8 on 8192 tokens of one micro-batch.
    models = {"llama3-8b": (4096, 14336, 32, 8), "llama3-70b": (8192, 28672, 64, 8),
              "llama3-405b": (16384, 53248, 128, 8)}
    tokens = 8192
    for name, (h, f, heads, kv) in models.items():
        hd = h // heads
        for tp in (1, 2, 4, 8):
            shapes = [("qkv", tokens, (h + 2 * kv * hd) // tp, h), ("proj", tokens, h, h // tp),
                      ("fc1", tokens, 2 * f // tp, h), ("fc2", tokens, h, f // tp)]
            for op, m, n, k in shapes:
                # Each pass's (m, n, k), output m x n and inner k: forward m x k by k x n; data
                # gradient m x n by n x k; weight gradient dW = dY^T X, n x m by m x k (output
                # out x in, as the weight is stored; the step model orders the same GEMM in x out,
                # and `scaleplan validate` swaps m and n of these rows to price it).
                passes = [("fwd", m, n, k), ("dgrad", m, k, n), ("wgrad", n, k, m)]
                for layout, mm, nn, kk in passes:
                    for dtype in ("bf16", "fp8_tensorwise", "fp8_rowwise"):
                        try:
                            # _scaled_mm takes one layout (TE and torchao transpose to it): FP8
                            # passes run in it with the pass's dimensions.
                            lay = layout if dtype == "bf16" else "fwd"
                            s = gemm_one(dtype, lay, mm, nn, kk)
                            t.row(f"{name}/tp{tp}/{op}", dtype, layout, mm, nn, kk, s,
                                  2.0 * mm * nn * kk / s / 1e12)
                        except Exception as e:
                            log(f"gemm {name} tp{tp} {op} {layout} {dtype}: {e!r}")
    log("llama shapes done")


def attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    t = Table("attention.csv", ["backend", "direction", "causal", "head_dim", "seq_len", "batch",
                                "heads", "seconds", "tflops"])
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}
    for bname, backend in backends.items():
        for hd in (64, 128, 256):
            for seq in (512, 1024, 2048, 4096, 8192, 16384, 32768):
                for causal in (False, True):
                    heads = 2048 // hd
                    batch = max(1, 16384 // seq)
                    flops = 4.0 * batch * seq * seq * heads * hd / (2 if causal else 1)
                    try:
                        q, k, v = (torch.randn(batch, heads, seq, hd, device=DEV,
                                               dtype=torch.bfloat16, requires_grad=True)
                                   for _ in range(3))
                        g = torch.randn(batch, heads, seq, hd, device=DEV, dtype=torch.bfloat16)
                        with sdpa_kernel([backend]):
                            fwd = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                            s_f = timed(fwd)

                            def fb():
                                o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                torch.autograd.grad(o, (q, k, v), g)

                            s_fb = timed(fb)
                        t.row(bname, "forward", causal, hd, seq, batch, heads, s_f, flops / s_f / 1e12)
                        t.row(bname, "forward+backward", causal, hd, seq, batch, heads, s_fb,
                              3.5 * flops / s_fb / 1e12)
                        s_b = s_fb - s_f
                        if s_b > 0:
                            t.row(bname, "backward", causal, hd, seq, batch, heads, s_b,
                                  2.5 * flops / s_b / 1e12)
                        del q, k, v, g
                    except Exception as e:
                        log(f"attention {bname} hd{hd} s{seq} causal={causal}: {e!r}")
        torch.cuda.empty_cache()


def power():
    t = Table("power.csv", ["t_s", "tflops", "sm_clock_mhz", "power_w", "power_limit_w",
                            "temperature_c", "event_reasons"])
    samples = []
    stop = threading.Event()
    query = "clocks.sm,power.draw,power.limit,temperature.gpu,clocks_event_reasons.active"

    def sampler():
        while not stop.is_set():
            try:
                r = subprocess.run(["nvidia-smi", f"--query-gpu={query}",
                                    "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True, timeout=5)
                samples.append((elapsed(), r.stdout.strip() or r.stderr.strip()))
            except Exception as e:
                samples.append((elapsed(), repr(e)))
            time.sleep(0.25)

    a = torch.randn(8192, 8192, device=DEV, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=DEV, dtype=torch.bfloat16)
    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    t_start = elapsed()
    windows = []
    while elapsed() - t_start < 15:
        e0 = torch.cuda.Event(enable_timing=True)
        e1 = torch.cuda.Event(enable_timing=True)
        e0.record()
        for _ in range(200):
            a @ b
        e1.record()
        e1.synchronize()
        s = e0.elapsed_time(e1) / 1e3
        windows.append((elapsed() - t_start, 200 * 2 * 8192**3 / s / 1e12))
    stop.set()
    th.join()
    for (tw, tf) in windows:
        near = min(samples, key=lambda x: abs(x[0] - t_start - tw)) if samples else (0, "")
        parts = [p.strip() for p in near[1].split(",")]
        parts += [""] * (5 - len(parts))
        t.row(tw, tf, *parts[:5])
    log(f"power: first window {windows[0][1]:.0f}, last {windows[-1][1]:.0f} TFLOP/s; "
        f"sample {samples[-1] if samples else None}")


def memops():
    t = Table("memops.csv", ["op", "mode", "direction", "shape", "bytes_min", "seconds",
                             "bytes_per_s", "kernels", "compile_s"])
    T, H = 16384, 8192

    def bf(*shape, grad=False):
        return torch.randn(*shape, device=DEV, dtype=torch.bfloat16, requires_grad=grad)

    def measure(op, shape, bytes_fwd, bytes_fb, make_fwd, modes=("eager", "compiled")):
        # make_fwd() returns (inputs requiring grad, forward function of them, grad of output)
        for mode in modes:
            if elapsed() > BUDGET_S:
                log(f"memops {op} {mode}: out of time")
                return
            try:
                inputs, f, grad_out = make_fwd()
                fn = torch.compile(f, dynamic=False) if mode == "compiled" else f
                c0 = time.time()
                out = fn(*inputs)
                if bytes_fb:
                    torch.autograd.grad(out, inputs, grad_out)
                torch.cuda.synchronize()
                compile_s = time.time() - c0 if mode == "compiled" else 0.0

                def fwd():
                    with torch.no_grad():
                        return fn(*inputs)

                def fwd_train():
                    return fn(*inputs)

                s = timed(fwd_train if bytes_fb else fwd)
                t.row(op, mode, "forward", shape, bytes_fwd, s, bytes_fwd / s,
                      kernels_launched(fwd_train if bytes_fb else fwd), compile_s)
                if bytes_fb:
                    def fb():
                        torch.autograd.grad(fn(*inputs), inputs, grad_out)

                    s2 = timed(fb)
                    t.row(op, mode, "forward+backward", shape, bytes_fb, s2, bytes_fb / s2,
                          kernels_launched(fb), compile_s)
                del inputs, grad_out, out
            except Exception as e:
                log(f"memops {op} {mode}: {e!r}")
            torch.cuda.empty_cache()

    n = T * H
    # copy and add: the ceilings of memory-bound work
    x = bf(T, H)
    y = torch.empty_like(x)
    s = timed(lambda: y.copy_(x))
    t.row("copy", "eager", "forward", f"{T}x{H}", 4 * n, s, 4 * n / s, 1, 0.0)
    r = bf(T, H)
    s = timed(lambda: torch.add(x, r, out=y))
    t.row("add", "eager", "forward", f"{T}x{H}", 6 * n, s, 6 * n / s, 1, 0.0)
    del x, y, r

    # RMSNorm, torchtitan's / HF's eager form (fp32 statistics) and torch's own.
    def rms_manual():
        x, w = bf(T, H, grad=True), bf(H, grad=True)

        def f(x, w):
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).type_as(x) * w

        return (x, w), f, bf(T, H)

    # forward reads x, writes y; backward reads x, dy, writes dx (the weight gradient is small)
    measure("rmsnorm_manual", f"{T}x{H}", 4 * n, 4 * n + 6 * n, rms_manual)

    def rms_torch():
        x, w = bf(T, H, grad=True), bf(H, grad=True)
        return (x, w), lambda x, w: F.rms_norm(x, (H,), w, 1e-5), bf(T, H)

    measure("rmsnorm_torch", f"{T}x{H}", 4 * n, 10 * n, rms_torch)

    def ln():
        x, w, b = bf(T, H, grad=True), bf(H, grad=True), bf(H, grad=True)
        return (x, w, b), lambda x, w, b: F.layer_norm(x, (H,), w, b, 1e-5), bf(T, H)

    measure("layernorm", f"{T}x{H}", 4 * n, 10 * n, ln, modes=("eager",))

    # SwiGLU on [T, F]: silu(gate) * up. Forward reads 2, writes 1; backward reads 3 (gate, up,
    # dy) writes 2.
    Fw = 14336

    def swiglu():
        g, u = bf(T, Fw, grad=True), bf(T, Fw, grad=True)
        return (g, u), lambda g, u: F.silu(g) * u, bf(T, Fw)

    nf = T * Fw
    measure("swiglu", f"{T}x{Fw}", 6 * nf, 6 * nf + 10 * nf, swiglu)

    def gelu():
        x = bf(T, Fw, grad=True)
        return (x,), lambda x: F.gelu(x, approximate="tanh"), bf(T, Fw)

    measure("gelu_tanh", f"{T}x{Fw}", 4 * nf, 4 * nf + 6 * nf, gelu)

    # Rotary embedding, torchtitan's complex multiply, on q of [2, 8192, 32, 128].
    B, S, NH, HD = 2, 8192, 32, 128
    freqs = torch.polar(torch.ones(S, HD // 2, device=DEV),
                        torch.randn(S, HD // 2, device=DEV))

    def rope():
        q = bf(B, S, NH, HD, grad=True)

        def f(q):
            qc = torch.view_as_complex(q.float().reshape(*q.shape[:-1], -1, 2))
            return torch.view_as_real(qc * freqs.view(1, S, 1, HD // 2)).flatten(3).type_as(q)

        return (q,), f, bf(B, S, NH, HD)

    nq = B * S * NH * HD
    measure("rope_complex", f"{B}x{S}x{NH}x{HD}", 4 * nq, 4 * nq + 4 * nq, rope)

    # Cross-entropy over a 128,256-word vocabulary on 4,096 tokens, fp32 upcast (torchtitan).
    Tl, V = 4096, 128256
    tgt = torch.randint(0, V, (Tl,), device=DEV)

    def ce():
        z = bf(Tl, V, grad=True)
        return (z,), lambda z: F.cross_entropy(z.float(), tgt), torch.tensor(1.0, device=DEV)

    nl = Tl * V
    # forward reads the logits; backward reads them again and writes their gradient
    measure("cross_entropy_fp32", f"{Tl}x{V}", 2 * nl, 2 * nl + 4 * nl, ce)

    # Softmax over the last dimension (unfused attention's score softmax), forward only.
    def softmax():
        z = bf(64, 4096, 4096)
        return (z,), lambda z: torch.softmax(z, -1), None

    ns = 64 * 4096 * 4096
    measure("softmax", "64x4096x4096", 4 * ns, 0, softmax)

    # Tensorwise dynamic FP8 cast (torchao's Float8Linear): amax, scale, clamp, cast.
    def cast():
        x = bf(T, H)

        def f(x):
            amax = x.abs().max().float().clamp(min=1e-12)
            scale = 448.0 / amax
            return (x.float() * scale).clamp(-448.0, 448.0).to(torch.float8_e4m3fn)

        return (x,), f, None

    # reads x twice (amax, then cast) and writes 1 byte an element; a fused single pass reads once
    measure("fp8_cast_tensorwise", f"{T}x{H}", 2 * n + n, 0, cast)

    # AdamW over 2^28 fp32 parameters in 8 tensors: reads p, g, m, v; writes p, m, v.
    for impl in ("fused", "foreach"):
        try:
            params = [torch.randn(1 << 25, device=DEV, requires_grad=True) for _ in range(8)]
            for p in params:
                p.grad = torch.randn_like(p)
            opt = torch.optim.AdamW(params, lr=1e-4, fused=impl == "fused",
                                    foreach=impl == "foreach")
            opt.step()
            s = timed(opt.step, target_s=0.1)
            nbytes = 28 * (1 << 28)
            t.row("adamw", impl, "step", "8x2^25 fp32", nbytes, s, nbytes / s,
                  kernels_launched(opt.step), 0.0)
            del params, opt
        except Exception as e:
            log(f"adamw {impl}: {e!r}")
        torch.cuda.empty_cache()


LLAMA3_8B = dict(h=4096, f=14336, heads=32, kv=8, hd=128)
LAYER_SEQ = 8192  # tokens of the layer sections' one sequence


class LlamaLayer(torch.nn.Module):
    """A Llama 3 decoder layer in plain PyTorch, torchtitan's shape of code: torch.nn.RMSNorm,
    complex-multiply RoPE, KV heads repeated before SDPA, SwiGLU. `mm(x, w)` computes x @ w.T
    (F.linear by default; the FP8 sections pass their own)."""

    def __init__(self, S, h, f, heads, kv, hd, mm=None, dev=None):
        super().__init__()
        kw = dict(device=dev or DEV, dtype=torch.bfloat16)

        def weight(o, i):
            return torch.nn.Parameter(torch.randn(o, i, **kw) * i**-0.5)

        self.dims = (S, h, f, heads, kv, hd)
        self.mm = mm or F.linear
        self.wq, self.wk, self.wv = weight(heads * hd, h), weight(kv * hd, h), weight(kv * hd, h)
        self.wo = weight(h, heads * hd)
        self.w1, self.w3, self.w2 = weight(f, h), weight(f, h), weight(h, f)
        self.n1 = torch.nn.RMSNorm(h, eps=1e-5, **kw)
        self.n2 = torch.nn.RMSNorm(h, eps=1e-5, **kw)
        self.register_buffer("freqs", torch.polar(torch.ones(S, hd // 2, device=kw["device"]),
                                                  torch.randn(S, hd // 2, device=kw["device"])))

    def rope(self, x):
        S, hd = self.dims[0], self.dims[5]
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * self.freqs.view(1, S, 1, hd // 2)).flatten(3).type_as(x)

    def forward(self, x):
        S, h, f, heads, kv, hd = self.dims
        B = x.shape[0]
        mm = self.mm
        y = self.n1(x)
        q = self.rope(mm(y, self.wq).view(B, S, heads, hd))
        k = self.rope(mm(y, self.wk).view(B, S, kv, hd))
        v = mm(y, self.wv).view(B, S, kv, hd)
        k = k.repeat_interleave(heads // kv, dim=2)
        v = v.repeat_interleave(heads // kv, dim=2)
        o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                           v.transpose(1, 2), is_causal=True)
        x = x + mm(o.transpose(1, 2).reshape(B, S, heads * hd), self.wo)
        z = self.n2(x)
        return x + mm(F.silu(mm(z, self.w1)) * mm(z, self.w3), self.w2)


def layer_stack(mode, n, S, mm=None, dims=LLAMA3_8B):
    """n layers and a function running them; mode is eager or compiled."""
    layers = torch.nn.ModuleList([LlamaLayer(S, mm=mm, **dims) for _ in range(n)])
    fns = [torch.compile(l) if mode == "compiled" else l for l in layers]

    def run(x):
        for fn in fns:
            x = fn(x)
        return x

    return layers, run


def layer():
    t = Table("layer.csv", ["model", "mode", "seq", "batch", "what", "value", "unit"])
    h = LLAMA3_8B["h"]
    S, B = LAYER_SEQ, 1

    for mode in ("eager", "compiled"):
        if elapsed() > BUDGET_S:
            break
        try:
            layers, run = layer_stack(mode, 2, S)
            x = torch.randn(B, S, h, device=DEV, dtype=torch.bfloat16, requires_grad=True)
            g = torch.randn(B, S, h, device=DEV, dtype=torch.bfloat16)
            c0 = time.time()
            run(x).backward(g)
            torch.cuda.synchronize()
            t.row("llama3-8b", mode, S, B, "first_call_s", time.time() - c0, "s")
            s_f = timed(lambda: run(x), target_s=0.1)
            s_fb = timed(lambda: run(x).backward(g), target_s=0.1)
            t.row("llama3-8b", mode, S, B, "forward_per_layer_s", s_f / 2, "s")
            t.row("llama3-8b", mode, S, B, "forward_backward_per_layer_s", s_fb / 2, "s")
            # Activation memory kept for backward: allocated after the forward minus before,
            # less the output (one [B, S, h] tensor), per layer.
            torch.cuda.synchronize()
            for p in layers.parameters():
                p.grad = None
            x.grad = None
            torch.cuda.empty_cache()
            before = torch.cuda.memory_allocated()
            out = run(x)
            torch.cuda.synchronize()
            after = torch.cuda.memory_allocated()
            kept = (after - before - out.numel() * out.element_size()) / 2
            t.row("llama3-8b", mode, S, B, "activation_bytes_per_layer", kept, "bytes")
            t.row("llama3-8b", mode, S, B, "activation_bytes_per_token_per_layer", kept / (B * S),
                  "bytes")
            out.backward(g)
            del out
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            run(x).backward(g)
            torch.cuda.synchronize()
            t.row("llama3-8b", mode, S, B, "peak_minus_base_bytes",
                  torch.cuda.max_memory_allocated() - base, "bytes")
            log(f"layer {mode}: fwd {s_f / 2 * 1e3:.2f} ms, fwd+bwd {s_fb / 2 * 1e3:.2f} ms, "
                f"kept {kept / 2**20:.0f} MiB/layer")
            del layers, run, x, g
        except Exception:
            log(traceback.format_exc())
        torch.cuda.empty_cache()


def saved_tensors(outputs, exclude):
    """What the autograd graph behind `outputs` keeps for backward, by the node and field that
    keep it: [(node, field, shape, dtype, storage_ptr, storage_bytes)]. Tensors whose storage is in
    `exclude` (parameters, the input) are left out; a storage kept by several nodes is listed
    under each, and `unique` counts it once."""
    # `seen` holds the nodes themselves: a Python id is reused once its object is freed.
    seen, rows, stack = {}, [], [o.grad_fn for o in outputs if o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        for name in dir(node):
            if not name.startswith("_saved_"):
                continue
            try:
                value = getattr(node, name)
            except Exception:  # a field already freed, or not a tensor
                continue
            for v in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(v, torch.Tensor) and v.numel() > 0:
                    st = v.untyped_storage()
                    if st.data_ptr() not in exclude:
                        rows.append((type(node).__name__, name[len("_saved_"):],
                                     "x".join(map(str, v.shape)), str(v.dtype).replace("torch.", ""),
                                     st.data_ptr(), st.nbytes()))
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    return rows


def layer_audit(dims=LLAMA3_8B, mode_list=("eager", "compiled")):
    """Every tensor one Llama 3 8B layer keeps for backward (eager: the autograd graph's saved
    fields, by node; compiled: the tensors packed by saved-tensor hooks), so that the activation
    memory measured in layer.csv can be placed term by term."""
    t = Table("layer_audit.csv", ["model", "mode", "seq", "node", "field", "shape", "dtype",
                                  "storage_bytes", "first_holder", "bytes_per_token"])
    S = LAYER_SEQ
    for mode in mode_list:
        if elapsed() > BUDGET_S:
            log(f"audit {mode}: out of time")
            return
        try:
            layers, run = layer_stack(mode, 1, S, dims=dims)
            x = torch.randn(1, S, dims["h"], device=DEV, dtype=torch.bfloat16, requires_grad=True)
            run(x).sum().backward()  # compiles, warms up
            exclude = {p.untyped_storage().data_ptr() for p in layers.parameters()}
            exclude |= {b.untyped_storage().data_ptr() for b in layers.buffers()}
            exclude.add(x.untyped_storage().data_ptr())
            packed = []

            def pack(v):
                if isinstance(v, torch.Tensor) and v.numel() > 0:
                    packed.append(v)
                return v

            before = torch.cuda.memory_allocated() if DEV == "cuda" else 0
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda v: v):
                out = run(x)
            after = torch.cuda.memory_allocated() if DEV == "cuda" else 0
            out_bytes = out.numel() * out.element_size()
            if mode == "eager":
                rows = saved_tensors([out], exclude)
            else:
                rows = [("packed", str(i), "x".join(map(str, v.shape)),
                         str(v.dtype).replace("torch.", ""), v.untyped_storage().data_ptr(),
                         v.untyped_storage().nbytes()) for i, v in enumerate(packed)
                        if v.untyped_storage().data_ptr() not in exclude]
            holders = {}
            for (node, field, shape, dtype, ptr, nbytes) in rows:
                first = ptr not in holders
                holders.setdefault(ptr, nbytes)
                t.row("llama3-8b", mode, S, node, field, shape, dtype, nbytes, first,
                      nbytes / S if first else 0.0)
            unique = sum(holders.values())
            t.row("llama3-8b", mode, S, "total", "unique_storages", len(holders), "", unique, True,
                  unique / S)
            t.row("llama3-8b", mode, S, "total", "allocated_delta_less_output", "", "",
                  after - before - out_bytes, True, (after - before - out_bytes) / S)
            log(f"audit {mode}: {len(rows)} saved, {len(holders)} storages, "
                f"{unique / S:.0f} B/token; allocated {(after - before - out_bytes) / S:.0f} B/token")
            del layers, run, x, out, packed, rows
        except Exception:
            log(traceback.format_exc())
        if DEV == "cuda":
            torch.cuda.empty_cache()


def fp8_cast(t, dtype, dim=None):
    """t cast to `dtype` with a dynamic scale from its amax: the whole tensor's (tensorwise, dim
    None) or each slice's along `dim` (rowwise). Returns (t in FP8, the inverse scale in FP32)."""
    fmax = torch.finfo(dtype).max
    amax = (t.abs().amax() if dim is None else t.abs().amax(dim=dim, keepdim=True)).float()
    scale = fmax / amax.clamp(min=1e-12)
    return (t.float() * scale).clamp(-fmax, fmax).to(dtype), scale.reciprocal()


def fp8_matmul(a, b, recipe, a_dtype):
    """a [M, K] @ b [K, N] through torch._scaled_mm, both cast with dynamic scales: tensorwise or
    rowwise (a's rows, b's columns). _scaled_mm wants a row-major and b column-major."""
    if recipe == "tensorwise":
        aq, sa = fp8_cast(a, a_dtype)
        bq, sb = fp8_cast(b, torch.float8_e4m3fn)
    else:
        aq, sa = fp8_cast(a, a_dtype, dim=1)
        bq, sb = fp8_cast(b, torch.float8_e4m3fn, dim=0)
    return torch._scaled_mm(aq.contiguous(), bq.t().contiguous().t(), scale_a=sa, scale_b=sb,
                            out_dtype=torch.bfloat16)


def fp8_linear(recipe, compiled):
    """x @ w.T with every GEMM of forward and backward in FP8, as torchao's Float8Linear does with
    dynamic scaling: the high-precision x and w are kept for backward and cast again there
    (tensorwise: gradients in e5m2; rowwise: all e4m3). Written for this script, not torchao.
    `compiled` compiles each cast-and-GEMM, so that its amax, scaling, cast and transposes fuse in
    the backward too (a first run that compiled only the layer left the backward's casts eager)."""
    grad_dtype = torch.float8_e5m2 if recipe == "tensorwise" else torch.float8_e4m3fn
    matmul = torch.compile(fp8_matmul, dynamic=False) if compiled else fp8_matmul

    class Fp8Mm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            x2 = x.reshape(-1, x.shape[-1])
            return matmul(x2, w.t(), recipe, torch.float8_e4m3fn).view(*x.shape[:-1], -1)

        @staticmethod
        def backward(ctx, go):
            x, w = ctx.saved_tensors
            x2, g2 = x.reshape(-1, x.shape[-1]), go.reshape(-1, go.shape[-1])
            dx = matmul(g2, w, recipe, grad_dtype).view(x.shape)
            dw = matmul(g2.t(), x2, recipe, grad_dtype)
            return dx, dw

    return Fp8Mm.apply


def fp8_layer():
    """One Llama 3 8B layer's forward+backward with its seven linears in BF16, FP8 tensorwise and
    FP8 rowwise, eager and compiled: the end-to-end FP8 gain of a layer (casts, amax reductions,
    BF16 attention and norms included), against the isolated GEMMs' in gemm.csv."""
    t = Table("fp8_layer.csv", ["model", "mode", "precision", "seq", "batch", "what", "value",
                                "unit"])
    h = LLAMA3_8B["h"]
    S, B = LAYER_SEQ, 1
    for recipe in ("bf16", "tensorwise", "rowwise"):
        for mode in ("eager", "compiled"):
            if elapsed() > BUDGET_S:
                log(f"fp8_layer {recipe} {mode}: out of time")
                return
            try:
                mm = None if recipe == "bf16" else fp8_linear(recipe, mode == "compiled")
                layers, run = layer_stack(mode, 2, S, mm=mm)
                x = torch.randn(B, S, h, device=DEV, dtype=torch.bfloat16, requires_grad=True)
                g = torch.randn(B, S, h, device=DEV, dtype=torch.bfloat16)
                c0 = time.time()
                run(x).backward(g)
                torch.cuda.synchronize()
                first = time.time() - c0
                s_f = timed(lambda: run(x), target_s=0.1)
                s_fb = timed(lambda: run(x).backward(g), target_s=0.1)
                fb = lambda: run(x).backward(g)
                prec = "bf16" if recipe == "bf16" else f"fp8_{recipe}"
                for what, v, unit in (("first_call_s", first, "s"),
                                      ("forward_per_layer_s", s_f / 2, "s"),
                                      ("forward_backward_per_layer_s", s_fb / 2, "s"),
                                      ("kernels_forward_backward_per_layer", kernels_launched(fb) / 2,
                                       "kernels")):
                    t.row("llama3-8b", mode, prec, S, B, what, v, unit)
                log(f"fp8_layer {prec} {mode}: fwd {s_f / 2 * 1e3:.2f} ms, "
                    f"fwd+bwd {s_fb / 2 * 1e3:.2f} ms")
                del layers, run, x, g
            except Exception:
                log(traceback.format_exc())
            torch.cuda.empty_cache()


def step_memory():
    """Training steps of a shortened Llama 3 8B (8 of its 32 layers, the real embedding and
    output layer, FP32 cross-entropy over 128,256 words) on one GPU the way torchtitan runs them:
    FSDP2's fully_shard on each layer (the last one not resharded after forward) and on the model
    (one rank), FP32 master weights, BF16 compute, FP32 gradient reduction, fused AdamW, the logits
    freed before backward; eager and compiled layers; no activation checkpointing; one micro-batch
    a step, and (eager) two with gradient accumulation. Memory read at each phase of a step after
    the first, as allocated and as reserved by the caching allocator (PYTORCH_CUDA_ALLOC_CONF as
    the environment sets it): what the memory model's weights / gradients / optimizer /
    activations / transient split is checked against."""
    import gc

    import torch.distributed as dist
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    t = Table("step_memory.csv", ["allocator", "model", "layers", "mode", "microbatches", "seq",
                                  "batch", "what", "value", "unit"])
    conf = os.environ.get("PYTORCH_CUDA_ALLOC_CONF", "")
    allocator = ("expandable_segments" if "expandable_segments:True" in conf
                 else conf or "default")
    if not dist.is_initialized():
        dist.init_process_group("nccl", init_method="tcp://127.0.0.1:29533", rank=0,
                                world_size=1)
    h, vocab, n_layers, S, B = LLAMA3_8B["h"], 128256, 8, LAYER_SEQ, 1
    log(f"step_memory: PYTORCH_CUDA_ALLOC_CONF={os.environ.get('PYTORCH_CUDA_ALLOC_CONF', '')!r}")

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, h, device=DEV)
            self.layers = torch.nn.ModuleList(
                [LlamaLayer(S, **LLAMA3_8B) for _ in range(n_layers)])
            self.norm = torch.nn.RMSNorm(h, eps=1e-5, device=DEV)
            self.out = torch.nn.Linear(h, vocab, bias=False, device=DEV)

        def forward(self, tokens):
            x = self.emb(tokens)
            for l in self.layers:
                x = l(x)
            return self.out(self.norm(x))

    for mode, micro in (("eager", 1), ("eager", 2), ("compiled", 1)):
        if elapsed() > BUDGET_S:
            log(f"step_memory {mode}: out of time")
            return
        try:
            torch._dynamo.reset()  # compile afresh, under FSDP, not from the layer sections' cache
            gc.collect()  # FSDP's modules and compiled frames hold the last run's model in cycles
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            base = torch.cuda.memory_allocated()
            model = Model().float()  # FP32 master weights, as torchtitan keeps them
            mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            for i, l in enumerate(model.layers):
                if mode == "compiled":
                    l.compile()  # in place, as torchtitan compiles each block before sharding
                fully_shard(l, mp_policy=mp, reshard_after_forward=i < n_layers - 1)
            fully_shard(model, mp_policy=mp)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
            tokens = torch.randint(0, vocab, (B, S), device=DEV)
            labels = torch.randint(0, vocab, (B, S), device=DEV)
            row = lambda what, v, unit: t.row(allocator, "llama3-8b", n_layers, mode, micro, S,
                                              B, what, v, unit)
            row("parameters", sum(p.numel() for p in model.parameters()), "count")
            reads = {}

            def read(phase):
                torch.cuda.synchronize()
                reads[phase] = (torch.cuda.memory_allocated() - base,
                                torch.cuda.memory_reserved(),
                                torch.cuda.max_memory_allocated() - base)

            def step(record):
                if record:
                    torch.cuda.reset_peak_memory_stats()
                    read("start")
                for m in range(micro):
                    tag = f"mb{m + 1}_" if micro > 1 else ""
                    logits = model(tokens)
                    loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten())
                    del logits  # torchtitan frees the logits before backward
                    if record:
                        read(tag + "after_forward")
                    loss.backward()
                    del loss
                    if record:
                        read(tag + "after_backward")
                opt.step()
                if record:
                    read("after_optimizer")
                opt.zero_grad(set_to_none=True)
                if record:
                    read("after_zero_grad")

            c0 = time.time()
            step(False)
            row("first_step_s", time.time() - c0, "s")
            step(True)
            if mode == "compiled":  # whether the layers ran compiled, and whole
                stats = {k: dict(v) for k, v in torch._dynamo.utils.counters.items()
                         if k in ("stats", "graph_break")}
                log(f"step_memory compiled: dynamo {stats}")
            for phase, (alloc, reserved, peak) in reads.items():
                row(f"{phase}_allocated_bytes", alloc, "bytes")
                row(f"{phase}_reserved_bytes", reserved, "bytes")
                row(f"{phase}_peak_allocated_bytes", peak, "bytes")
            s = timed(lambda: step(False), target_s=1.0, loops=3)
            row("step_s", s, "s")
            log(f"step_memory {mode} x{micro}: peak {reads['after_zero_grad'][2] / 2**30:.1f} GiB "
                f"allocated, {max(r[1] for r in reads.values()) / 2**30:.1f} GiB reserved, "
                f"step {s:.3f} s")
            del model, opt, tokens, labels
        except Exception:
            log(traceback.format_exc())
        torch.cuda.empty_cache()


if __name__ == "__main__":
    torch.backends.cuda.matmul.allow_tf32 = True
    # fp8_matmul compiles once per shape and recipe (more than the default limit of 8)
    torch._dynamo.config.recompile_limit = 64
    SECTIONS = {"environment": environment, "power": power, "gemm": gemm_grid,
                "attention": attention, "layer": layer, "memops": memops, "audit": layer_audit,
                "fp8_layer": fp8_layer, "step_memory": step_memory}
    chosen = os.environ.get("SECTIONS", ",".join(SECTIONS)).split(",")
    unknown = [c for c in chosen if c not in SECTIONS]
    if unknown:
        sys.exit(f"SECTIONS: unknown {unknown}; known: {', '.join(SECTIONS)}")
    for name in chosen:
        section(name, SECTIONS[name])
    log(f"total {elapsed():.0f} s")
