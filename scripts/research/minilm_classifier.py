"""What the fine-tuning probes share: MiniLM's tokenizer without padding,
batches of ids and masks, and the classifier (mean pooling, dropout 0.1, a
linear layer) that is fine-tuned end to end."""
import torch
import torch.nn as nn
from tokenizers import Tokenizer
from transformers import BertModel
from transformers.utils import logging

logging.set_verbosity_error()
logging.disable_progress_bar()


class Batcher:
    """Turns texts into padded id and mask tensors, cut at 64 word pieces."""

    def __init__(self, models):
        self.tok = Tokenizer.from_file(f"{models}/tokenizer.json")
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=64)
        self.pad = self.tok.token_to_id("[PAD]")

    def __call__(self, texts):
        encs = self.tok.encode_batch(texts)
        n = max(len(e.ids) for e in encs)
        ids = torch.full((len(encs), n), self.pad, dtype=torch.long)
        mask = torch.zeros((len(encs), n), dtype=torch.long)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        return ids, mask


class Classifier(nn.Module):
    """all-MiniLM-L6-v2, mean-pooled over real tokens, then dropout and a linear layer."""

    def __init__(self, models, classes):
        super().__init__()
        self.enc = BertModel.from_pretrained(models, add_pooling_layer=False)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(self.enc.config.hidden_size, classes)

    def forward(self, ids, mask):
        h = self.enc(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return self.head(self.drop((h * m).sum(1) / m.sum(1).clamp(min=1e-9)))
