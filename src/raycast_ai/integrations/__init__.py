"""Front ends that live inside other Python tools: a g4f provider (`integrations.g4f`) and the
`llm` plugin (`integrations.llm`). Each imports its host package, which this package does not
require: `pip install 'raycast-ai[g4f]'` or `'raycast-ai[llm]'`."""
