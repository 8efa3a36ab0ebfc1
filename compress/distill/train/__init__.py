"""Training the student through sentence-transformers' trainer, with validation against the teacher."""
