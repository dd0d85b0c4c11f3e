"""Shaping answers for the agent's model: synthesis, prioritisation and the byte budget.

Still to come (see the answers issue): `DataSynthesizer` and `ResponseEngine` implementations of
the Protocols in `agent_config.interfaces`. What exists now renders the first operations' answers.
"""
