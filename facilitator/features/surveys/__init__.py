"""Surveys: multi-question questionnaires sent privately, answered, reminded and summed up."""
