"""Answering: the answer sentence and abstention, the short answer span, two-part questions."""
