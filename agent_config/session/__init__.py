"""Session state between turns of a Bedrock conversation.

Not built yet (see the sessions issue): the DynamoDB and in-memory implementations of
`agent_config.interfaces.SessionStore`. Until then the handler only echoes Bedrock's session
attributes, which is all the first operations need.
"""
