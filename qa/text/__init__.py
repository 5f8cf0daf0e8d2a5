"""Text: cleaning (paragraphs, headings, articles, dates) and chunking."""
