"""Reading documents: file formats (txt, md, pdf, docx, html) and corpus directories."""
