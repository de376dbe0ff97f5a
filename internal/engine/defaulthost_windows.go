package engine

// DefaultHost is the engine address of the "default" context: on Windows
// the named pipe Docker Desktop's engine listens on, as the docker CLI has it.
const DefaultHost = "npipe:////./pipe/docker_engine"
