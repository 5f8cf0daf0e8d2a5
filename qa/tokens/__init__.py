"""Tokens: jieba-rs segmentation, the tokenizer with its dictionary, English expansion."""
