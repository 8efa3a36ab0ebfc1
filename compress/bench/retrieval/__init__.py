"""Retrieval evaluation: exact (or faiss) search, nDCG/recall/MRR, cached document embeddings, index
compatibility of a student's queries with the teacher's document index."""
