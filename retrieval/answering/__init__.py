"""Answering: question analysis, the extractive, fitted and generated answerers, citations."""
