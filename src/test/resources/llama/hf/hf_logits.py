# Writes hf_logits.bin (float32 little-endian, [sequences, tokens, vocab]) for every fixture folder given:
# the logits of transformers' own model class, in float64 with eager attention, on the ids of tokens.txt.
import json, os, sys
import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM

for d in sys.argv[1:]:
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float64, attn_implementation="eager").eval()
    ids = torch.tensor([json.loads(line) for line in open(os.path.join(d, "tokens.txt")).read().split("\n") if line])
    with torch.no_grad():
        logits = model(ids).logits.numpy()
    logits.astype("<f4").tofile(os.path.join(d, "hf_logits.bin"))
    print(d, logits.shape, f"transformers {transformers.__version__} torch {torch.__version__}")
