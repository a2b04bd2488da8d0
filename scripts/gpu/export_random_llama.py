#!/usr/bin/env python3
"""Random-weight Llama decoders exported in bytefill's ONNX layout (models/README.md, "Layout").

Runs on the GPU machine of the benchmark (python3 with torch 2.11, transformers 5.x, onnx, onnxruntime),
also on any machine with torch >= 1.13 (transformers and onnxruntime optional). No network, no downloads.

    python3 scripts/gpu/export_random_llama.py --out /tmp/rnd-big --preset big
    python3 scripts/gpu/export_random_llama.py --out /tmp/rnd-2l --preset a2
    python3 scripts/gpu/export_random_llama.py --probe /tmp/logits-probe.onnx --vocab 8192

Each model folder gets config.json (HF style + head_dim, num_key_value_heads, fim, reference),
tokenizer.json (copied from models/tiny-code-a: vocab 8192) and onnx/model.onnx:
  inputs  input_ids [B,T] int64, attention_mask [B,P+T] int64, position_ids [B,T] int64,
          past_key_values.{i}.key|value [B,Hkv,P,D] float32
  outputs logits [B,T,V] float32, present.{i}.key|value [B,Hkv,P+T,D] float32
Weights are stored as float16 and cast to float32 in the graph (like the bundled models), so the
runtime computes in float32.

The graph comes from a hand-written Llama forward (RMSNorm, rotate-half RoPE, SwiGLU, GQA
attention with KV concat): it exports with any torch.onnx exporter. With transformers installed,
the same weights are loaded into LlamaForCausalLM first and the hand-written forward is checked
against it (max |diff| printed and stored as random_weights.hf_max_diff in config.json). --impl hf tries
to export through transformers (DynamicCache) instead and falls back to the hand-written graph.
"""

import argparse
import inspect
import json
import math
import os
import shutil
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOKENIZER = os.path.join(REPO, "models", "tiny-code-a", "tokenizer.json")
FIM = {
    "prefix": "<fim_prefix>", "suffix": "<fim_suffix>", "middle": "<fim_middle>", "pad": "<fim_pad>",
    "eot": "<|endoftext|>", "file_sep": "<file_sep>", "format": "PSM",
}
REFERENCE_IDS = [5, 6, 7, 8, 9, 10, 11, 12]

# Layout of the bundled models, read with onnxruntime-node from models/tiny-code-{a,b}/onnx/model.onnx:
# 19 inputs / 17 outputs for 8 layers, in this order; symbolic dims named as below.
FIXED_INPUTS = ["input_ids", "attention_mask", "position_ids"]
DIMS_IN = {
    "input_ids": ["batch_size", "sequence_length"],
    "attention_mask": ["batch_size", "total_sequence_length"],
    "position_ids": ["batch_size", "sequence_length"],
}


def expected_names(layers):
    ins = list(FIXED_INPUTS)
    outs = ["logits"]
    for i in range(layers):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    return ins, outs


PRESETS = {
    # ~0.29B parameters, GQA (16 query heads, 8 KV heads of 64): a "real-size" small code model.
    "big": dict(hidden=1024, layers=24, heads=16, kv_heads=8, head_dim=64, ffn=2816, vocab=8192),
    # ~0.52B parameters (fp32 weights ~2.1 GB in memory; the file stays ~1 GB as fp16).
    "half": dict(hidden=1536, layers=20, heads=24, kv_heads=8, head_dim=64, ffn=4096, vocab=8192),
    # tiny-code-a's width with 2 layers: per-step overhead (launches, transfers) dominates.
    "a2": dict(hidden=320, layers=2, heads=5, kv_heads=5, head_dim=64, ffn=864, vocab=8192),
    # a 2-layer toy for smoke tests on a CPU.
    "toy": dict(hidden=128, layers=2, heads=4, kv_heads=2, head_dim=32, ffn=256, vocab=8192),
}


def log(msg):
    print(f"[export {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Weights


def random_weights(c, seed):
    """Random Llama weights (normal std 0.02, norms 1), rounded to float16 values, as float32."""
    g = torch.Generator().manual_seed(seed)
    d, f, v, D = c["hidden"], c["ffn"], c["vocab"], c["head_dim"]
    qd, kd = c["heads"] * D, c["kv_heads"] * D

    def w(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).half().float()

    sd = {"model.embed_tokens.weight": w(v, d), "model.norm.weight": torch.ones(d)}
    for i in range(c["layers"]):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = torch.ones(d)
        sd[p + "post_attention_layernorm.weight"] = torch.ones(d)
        sd[p + "self_attn.q_proj.weight"] = w(qd, d)
        sd[p + "self_attn.k_proj.weight"] = w(kd, d)
        sd[p + "self_attn.v_proj.weight"] = w(kd, d)
        sd[p + "self_attn.o_proj.weight"] = w(d, qd)
        sd[p + "mlp.gate_proj.weight"] = w(f, d)
        sd[p + "mlp.up_proj.weight"] = w(f, d)
        sd[p + "mlp.down_proj.weight"] = w(d, f)
    return sd


def hf_config(c, max_pos):
    return {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "vocab_size": c["vocab"],
        "hidden_size": c["hidden"],
        "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"],
        "num_key_value_heads": c["kv_heads"],
        "head_dim": c["head_dim"],
        "intermediate_size": c["ffn"],
        "rope_theta": 10000.0,
        "rms_norm_eps": 1e-5,
        "max_position_embeddings": max_pos,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "mlp_bias": False,
        "hidden_act": "silu",
        "bos_token_id": None,
        "eos_token_id": 0,
        "torch_dtype": "float32",
    }


def load_hf(cfg, sd):
    """LlamaForCausalLM with these weights, or None when transformers is missing or refuses."""
    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except Exception as e:  # noqa: BLE001
        log(f"transformers not available ({type(e).__name__}): hand-written forward only")
        return None
    try:
        kw = {k: v for k, v in cfg.items() if k not in ("model_type", "architectures", "torch_dtype")}
        hc = LlamaConfig(**kw)
        try:
            hc._attn_implementation = "eager"
        except Exception:  # noqa: BLE001
            pass
        m = LlamaForCausalLM(hc).eval()
        missing, unexpected = m.load_state_dict(sd, strict=False)
        missing = [k for k in missing if not k.endswith("lm_head.weight") and "rotary_emb" not in k]
        if missing or unexpected:
            raise RuntimeError(f"state dict mismatch: missing {missing[:4]}, unexpected {unexpected[:4]}")
        if hasattr(m, "tie_weights"):
            m.tie_weights()
        log(f"transformers {transformers.__version__}: LlamaForCausalLM built")
        return m
    except Exception as e:  # noqa: BLE001
        log(f"transformers LlamaForCausalLM failed ({type(e).__name__}: {str(e)[:200]}): hand-written forward only")
        return None


# ---------------------------------------------------------------------------------------------
# Hand-written Llama forward in bytefill's layout


class ManualLlama(nn.Module):
    """Llama decoder; forward(input_ids, attention_mask, position_ids, *past) -> (logits, *present)."""

    def __init__(self, c, sd, fp16_weights=True):
        super().__init__()
        self.L, self.H, self.Hkv, self.D = c["layers"], c["heads"], c["kv_heads"], c["head_dim"]
        self.rep = self.H // self.Hkv
        self.eps = 1e-5
        dt = torch.float16 if fp16_weights else torch.float32
        self.names = []
        for k, v in sd.items():
            name = k.replace(".", "_")
            self.register_buffer(name, v.to(dt).contiguous())
            self.names.append(name)
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.D, 2, dtype=torch.float32) / self.D))
        self.register_buffer("inv_freq", inv)

    def w(self, key):
        return getattr(self, key.replace(".", "_")).float()

    def rms(self, x, key):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w(key)

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        T = input_ids.shape[1]
        N = attention_mask.shape[1]
        x = torch.nn.functional.embedding(input_ids, self.w("model.embed_tokens.weight"))
        # RoPE tables from position_ids: [B,1,T,D]
        fr = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq
        emb = torch.cat((fr, fr), dim=-1)
        cos = emb.cos().unsqueeze(1)
        sin = emb.sin().unsqueeze(1)
        # Additive mask [B,1,T,N]: key slot j visible to query t iff j <= (N-T)+t and mask[b,j] = 1.
        kpos = torch.arange(N, device=input_ids.device)
        qpos = torch.arange(T, device=input_ids.device) + (N - T)
        causal = kpos.unsqueeze(0) <= qpos.unsqueeze(1)
        allowed = causal.unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)
        bias = torch.where(allowed, torch.zeros((), dtype=torch.float32), torch.full((), -1e9, dtype=torch.float32))
        scale = 1.0 / math.sqrt(self.D)
        presents = []
        for i in range(self.L):
            p = f"model.layers.{i}."
            h = self.rms(x, p + "input_layernorm.weight")
            q = torch.matmul(h, self.w(p + "self_attn.q_proj.weight").t())
            k = torch.matmul(h, self.w(p + "self_attn.k_proj.weight").t())
            v = torch.matmul(h, self.w(p + "self_attn.v_proj.weight").t())
            B, T = q.shape[0], q.shape[1]
            q = q.reshape(B, T, self.H, self.D).transpose(1, 2)
            k = k.reshape(B, T, self.Hkv, self.D).transpose(1, 2)
            v = v.reshape(B, T, self.Hkv, self.D).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            k = torch.cat((past[2 * i], k), dim=2)
            v = torch.cat((past[2 * i + 1], v), dim=2)
            presents += [k, v]
            if self.rep > 1:
                kr = k.unsqueeze(2).expand(-1, -1, self.rep, -1, -1).flatten(1, 2)
                vr = v.unsqueeze(2).expand(-1, -1, self.rep, -1, -1).flatten(1, 2)
            else:
                kr, vr = k, v
            s = torch.matmul(q, kr.transpose(-1, -2)) * scale + bias
            a = torch.matmul(torch.softmax(s, dim=-1), vr)
            a = a.transpose(1, 2).flatten(2)
            x = x + torch.matmul(a, self.w(p + "self_attn.o_proj.weight").t())
            h = self.rms(x, p + "post_attention_layernorm.weight")
            g = torch.nn.functional.silu(torch.matmul(h, self.w(p + "mlp.gate_proj.weight").t()))
            u = torch.matmul(h, self.w(p + "mlp.up_proj.weight").t())
            x = x + torch.matmul(g * u, self.w(p + "mlp.down_proj.weight").t())
        x = self.rms(x, "model.norm.weight")
        logits = torch.matmul(x, self.w("model.embed_tokens.weight").t())
        return (logits, *presents)


# ---------------------------------------------------------------------------------------------
# transformers-based wrapper (optional export path)


class HFWrapper(nn.Module):
    """Flat past tensors -> DynamicCache -> LlamaForCausalLM -> (logits, *present)."""

    def __init__(self, model, layers):
        super().__init__()
        self.model = model
        self.L = layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        from transformers import DynamicCache

        try:
            cache = DynamicCache(config=self.model.config)
        except TypeError:
            cache = DynamicCache()
        for i in range(self.L):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=cache, use_cache=True, return_dict=True)
        pkv = out.past_key_values
        presents = []
        for i in range(self.L):
            if hasattr(pkv, "layers"):  # transformers >= 4.56 / 5.x
                presents += [pkv.layers[i].keys, pkv.layers[i].values]
            elif hasattr(pkv, "key_cache"):
                presents += [pkv.key_cache[i], pkv.value_cache[i]]
            else:
                presents += [pkv[i][0], pkv[i][1]]
        return (out.logits, *presents)


# ---------------------------------------------------------------------------------------------
# Export and checks


def sample_inputs(c, B=2, P=3, T=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, c["vocab"], (B, T), generator=g)
    mask = torch.ones(B, P + T, dtype=torch.int64)
    mask[1, :2] = 0  # left padding in row 1
    pos = torch.arange(P, P + T).unsqueeze(0).repeat(B, 1)
    past = []
    for _ in range(c["layers"]):
        past += [torch.randn(B, c["kv_heads"], P, c["head_dim"], generator=g) * 0.5 for _ in range(2)]
    return ids, mask, pos, past


def flat_signature(module, layers):
    """A module whose forward names every input (input_ids, ..., pk{i}, pv{i}): both torch.onnx
    exporters then see plain positional tensors, no *args."""
    args = ["input_ids", "attention_mask", "position_ids"]
    for i in range(layers):
        args += [f"pk{i}", f"pv{i}"]
    src = f"def forward(self, {', '.join(args)}):\n    return self.inner({', '.join(args)})\n"
    ns = {}
    exec(src, ns)  # noqa: S102 - generated from integers only

    class Flat(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

    Flat.forward = ns["forward"]
    return Flat(module).eval()


def onnx_export(module, c, path, opset):
    """torch.onnx.export: the TorchScript exporter (dynamo=False) first, then the dynamo one."""
    ins, outs = expected_names(c["layers"])
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(c["layers"]):
        for kv in ("key", "value"):
            dyn[f"past_key_values.{i}.{kv}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kv}"] = {0: "batch_size", 2: "total_sequence_length"}
    ids, mask, pos, past = sample_inputs(c, B=3, P=3, T=5)
    flat = flat_signature(module, c["layers"])
    params = inspect.signature(torch.onnx.export).parameters
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tries = [("torchscript", {"dynamo": False} if "dynamo" in params else {}, opset or 17)]
    if "dynamo" in params:
        tries.append(("dynamo", {"dynamo": True}, max(opset or 18, 18)))
    errors = []
    for name, extra, ops in tries:
        kw = dict(input_names=ins, output_names=outs, dynamic_axes=dyn, opset_version=ops, **extra)
        if name == "torchscript":
            kw["do_constant_folding"] = False  # keep the fp16 weights + Cast (onnxruntime folds them at load)
        t0 = time.time()
        try:
            with torch.no_grad():
                r = torch.onnx.export(flat, (ids, mask, pos, *past), path, **kw)
            if not os.path.isfile(path) and r is not None and hasattr(r, "save"):
                r.save(path)
            log(f"exported with the {name} exporter, opset {ops}, in {time.time() - t0:.1f} s")
            return name
        except Exception as e:  # noqa: BLE001
            errors.append(f"{name}: {type(e).__name__}: {str(e)[:300]}")
            log(f"the {name} exporter failed after {time.time() - t0:.1f} s: {errors[-1]}")
    raise RuntimeError("torch.onnx.export failed: " + " | ".join(errors))


def check_layout(path, c):
    """Names, order, dtypes and fixed dims against the bundled models' layout (needs onnx)."""
    try:
        import onnx
    except Exception:  # noqa: BLE001
        log("onnx not installed: layout check skipped (bytefill checks names when it loads the model)")
        return
    m = onnx.load(path, load_external_data=False)
    ins = [i.name for i in m.graph.input if i.name not in {x.name for x in m.graph.initializer}]
    outs = [o.name for o in m.graph.output]
    want_in, want_out = expected_names(c["layers"])
    assert ins == want_in, f"inputs {ins[:6]}... != {want_in[:6]}..."
    assert outs == want_out, f"outputs {outs[:6]}... != {want_out[:6]}..."
    vi = {v.name: v for v in list(m.graph.input) + list(m.graph.output)}

    def sig(name):
        t = vi[name].type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        return onnx.TensorProto.DataType.Name(t.elem_type), dims

    def same(got, want):
        # fixed dims must be equal; symbolic ones only symbolic (names differ between exporters)
        return got[0] == want[0] and len(got[1]) == len(want[1]) and all(
            (isinstance(w, str) and isinstance(g, str) and g != "") or g == w for g, w in zip(got[1], want[1]))

    want = {n: ("INT64", d) for n, d in DIMS_IN.items()}
    want["past_key_values.0.key"] = ("FLOAT", ["batch_size", c["kv_heads"], "past_sequence_length", c["head_dim"]])
    want["past_key_values.0.value"] = want["past_key_values.0.key"]
    want["present.0.key"] = ("FLOAT", ["batch_size", c["kv_heads"], "total_sequence_length", c["head_dim"]])
    want["present.0.value"] = want["present.0.key"]
    want["logits"] = ("FLOAT", ["batch_size", "sequence_length", c["vocab"]])
    for n, w in want.items():
        got = sig(n)
        assert same(got, w), f"{n}: {got}, expected {w}"
        if got != w:
            log(f"note: {n} has dims {got[1]} (bundled models name them {w[1]})")
    log(f"layout ok: {len(ins)} inputs, {len(outs)} outputs, KV [B,{c['kv_heads']},P,{c['head_dim']}] float32")


def check_ort(path, c, module):
    """Runs the ONNX file with onnxruntime (CPU) against torch: prefill with padding + one cached step."""
    try:
        import numpy as np
        import onnxruntime as ort
    except Exception:  # noqa: BLE001
        log("onnxruntime (python) not installed: numeric check of the file skipped")
        return None
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ids, mask, pos, past = sample_inputs(c, P=0, T=6, seed=3)
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "position_ids": pos.numpy()}
    for i in range(c["layers"]):
        feeds[f"past_key_values.{i}.key"] = past[2 * i].numpy()
        feeds[f"past_key_values.{i}.value"] = past[2 * i + 1].numpy()
    o = s.run(None, feeds)
    with torch.no_grad():
        t = module(ids, mask, pos, *past)
    d1 = float(np.abs(o[0] - t[0].numpy())[:, -1].max())
    # one cached step from the presents
    nid = torch.tensor([[7], [8]])
    mask2 = torch.cat((mask, torch.ones(2, 1, dtype=torch.int64)), dim=1)
    pos2 = torch.tensor([[6], [4]])  # row 1 had 2 padding slots -> 4 real tokens so far
    feeds2 = {"input_ids": nid.numpy(), "attention_mask": mask2.numpy(), "position_ids": pos2.numpy()}
    for i in range(c["layers"]):
        feeds2[f"past_key_values.{i}.key"] = o[1 + 2 * i]
        feeds2[f"past_key_values.{i}.value"] = o[2 + 2 * i]
    o2 = s.run(None, feeds2)
    with torch.no_grad():
        t2 = module(nid, mask2, pos2, *t[1:])
    d2 = float(np.abs(o2[0] - t2[0].numpy()).max())
    log(f"onnxruntime CPU vs torch: prefill last logits max |diff| {d1:.2e}, cached step {d2:.2e}")
    assert d1 < 1e-3 and d2 < 1e-3, "ONNX file does not match torch"
    return max(d1, d2)


def export_model(args):
    c = dict(PRESETS[args.preset])
    for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab"):
        v = getattr(args, k)
        if v is not None:
            c[k] = v
    assert c["heads"] % c["kv_heads"] == 0, "heads must be a multiple of kv_heads"
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    t0 = time.time()
    sd = random_weights(c, args.seed)
    n_params = sum(v.numel() for v in sd.values())
    log(f"{args.out}: {n_params / 1e6:.1f} M parameters ({c})")
    cfg = hf_config(c, args.max_pos)
    manual = ManualLlama(c, sd).eval()

    hf = load_hf(cfg, sd) if args.impl != "manual-only" else None
    hf_diff = None
    if hf is not None:
        ids, mask, pos, past = sample_inputs(c, P=0, T=8, seed=5)
        mask = torch.ones_like(mask)
        try:
            with torch.no_grad():
                a = manual(ids, mask, pos, *past)[0]
                b = HFWrapper(hf, c["layers"])(ids, mask, pos, *past)[0]
            hf_diff = float((a - b).abs().max())
            log(f"hand-written forward vs transformers LlamaForCausalLM: max |diff| {hf_diff:.2e}"
                + ("" if hf_diff < 1e-3 else "  WARNING: differs (timings stay valid; numerics are the hand-written graph's)"))
        except Exception as e:  # noqa: BLE001
            log(f"transformers comparison failed ({type(e).__name__}: {str(e)[:200]}): continuing with the hand-written forward")

    path = os.path.join(args.out, "onnx", "model.onnx")
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    used = "manual"
    if args.impl == "hf" and hf is not None:
        try:
            onnx_export(HFWrapper(hf, c["layers"]).eval(), c, path, args.opset)
            check_layout(path, c)
            check_ort(path, c, manual)
            used = "transformers"
        except Exception as e:  # noqa: BLE001
            log(f"export through transformers failed ({type(e).__name__}: {str(e)[:300]}): hand-written graph instead")
            shutil.rmtree(args.out, ignore_errors=True)
    if used == "manual":
        onnx_export(manual, c, path, args.opset)
        check_layout(path, c)
        check_ort(path, c, manual)

    # config.json with the reference of the fixed input, like the bundled models
    with torch.no_grad():
        ids = torch.tensor([REFERENCE_IDS])
        pos = torch.arange(len(REFERENCE_IDS)).unsqueeze(0)
        mask = torch.ones_like(ids)
        past = [torch.zeros(1, c["kv_heads"], 0, c["head_dim"]) for _ in range(2 * c["layers"])]
        last = manual(ids, mask, pos, *past)[0][0, -1]
    cfg["fim"] = dict(FIM)
    cfg["reference"] = {
        "input_ids": REFERENCE_IDS,
        "last_logits_first8": [round(float(x), 5) for x in last[:8]],
        "last_argmax": int(last.argmax()),
    }
    cfg["random_weights"] = {"seed": args.seed, "params": n_params, "graph": used,
                             "hf_max_diff": hf_diff, "torch": torch.__version__}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if c["vocab"] == 8192 and os.path.isfile(TOKENIZER):
        shutil.copy(TOKENIZER, os.path.join(args.out, "tokenizer.json"))
    else:
        log(f"no tokenizer.json copied (vocab {c['vocab']} or {TOKENIZER} missing): the folder is usable by OnnxModel, not by the Engine")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    log(f"wrote {args.out} ({size / 2**20:.0f} MiB, graph: {used}) in {time.time() - t0:.1f} s")
    return used


def export_probe(path, vocab):
    """A tiny graph for the 'second session on the device' experiment (scripts/gpu/gpu-bench.js):
    logits [B,T,V] float32 + ids [K] int64 -> picked [B,K] (last position's logits at ids),
    lse [B] (logsumexp of the last position), max [B]."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Constant", [], ["m1"], value=helper.make_tensor("m1v", TensorProto.INT64, [1], [-1])),
        helper.make_node("Constant", [], ["ax1"], value=helper.make_tensor("ax1v", TensorProto.INT64, [1], [1])),
        helper.make_node("Constant", [], ["big"], value=helper.make_tensor("bigv", TensorProto.INT64, [1], [2**62])),
        helper.make_node("Slice", ["logits", "m1", "big", "ax1"], ["last3"]),  # [B,1,V]
        helper.make_node("Squeeze", ["last3", "ax1"], ["last"]),  # [B,V]
        helper.make_node("Gather", ["last", "ids"], ["picked"], axis=1),  # [B,K]
        helper.make_node("ReduceMax", ["last"], ["max"], axes=[1], keepdims=0),
        helper.make_node("ReduceLogSumExp", ["last"], ["lse"], axes=[1], keepdims=0),
    ]
    g = helper.make_graph(
        nodes, "logits_probe",
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", vocab]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, ["K"])],
        [helper.make_tensor_value_info("picked", TensorProto.FLOAT, ["B", "K"]),
         helper.make_tensor_value_info("max", TensorProto.FLOAT, ["B"]),
         helper.make_tensor_value_info("lse", TensorProto.FLOAT, ["B"])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save(m, path)
    log(f"wrote {path} (Slice/Squeeze/Gather/ReduceMax/ReduceLogSumExp over V={vocab})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="model folder to write")
    ap.add_argument("--preset", default="big", choices=sorted(PRESETS))
    for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab"):
        ap.add_argument("--" + k.replace("_", "-"), dest=k, type=int)
    ap.add_argument("--max-pos", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--opset", type=int, default=None, help="default 17 (TorchScript exporter), 18 (dynamo)")
    ap.add_argument("--impl", default="manual", choices=["manual", "hf", "manual-only"],
                    help="manual: hand-written graph, checked against transformers when installed; "
                         "hf: export through transformers, falling back to manual; manual-only: skip transformers")
    ap.add_argument("--probe", help="also write the logits probe graph here")
    args = ap.parse_args()
    if not args.out and not args.probe:
        ap.error("--out or --probe is required")
    log(f"python {sys.version.split()[0]}, torch {torch.__version__}")
    if args.out:
        export_model(args)
    if args.probe:
        vocab = args.vocab or PRESETS[args.preset]["vocab"]
        export_probe(args.probe, vocab)


if __name__ == "__main__":
    main()
