# docker buildx bake builds the same images as `docker magents build`, with the same
# targets, build arguments and tags (a test compares `docker buildx bake --print` with
# `docker magents build --print`).
#
#   docker buildx bake                  # latest, dev and cloudrun
#   docker buildx bake dev
#   # behind a TLS-intercepting proxy (bake asks before reading a file outside this directory):
#   CA_CERT=/etc/ssl/certs/ca-certificates.crt docker buildx bake --allow fs.read=/etc/ssl/certs/ca-certificates.crt

variable "BASE_IMAGE" {
  default = "debian:bookworm-slim"
}
variable "GO_IMAGE" {
  default = "golang:1.26-bookworm"
}
variable "FETCH_IMAGE" {
  default = "debian:bookworm-slim"
}
variable "CLAUDE_CODE_VERSION" {
  default = "2.1.332"
}
variable "MAGENTS_UID" {
  default = "1000"
}
variable "MAGENTS_GID" {
  default = "1000"
}
# A PEM bundle of extra CA certificates (docker magents build --ca-cert).
variable "CA_CERT" {
  default = ""
}

group "default" {
  targets = ["latest", "dev", "cloudrun"]
}

target "_agent" {
  context    = "images"
  dockerfile = "Dockerfile.claude"
  args = {
    BASE_IMAGE          = BASE_IMAGE
    GO_IMAGE            = GO_IMAGE
    FETCH_IMAGE         = FETCH_IMAGE
    CLAUDE_CODE_VERSION = CLAUDE_CODE_VERSION
    MAGENTS_UID         = MAGENTS_UID
    MAGENTS_GID         = MAGENTS_GID
  }
  secret = CA_CERT == "" ? [] : ["id=ca-cert,type=file,src=${CA_CERT}"]
}

target "latest" {
  inherits = ["_agent"]
  target   = "latest"
  tags     = ["magents/claude-agent:latest"]
}

target "dev" {
  inherits = ["_agent"]
  target   = "dev"
  tags     = ["magents/claude-agent:dev"]
}

target "cloudrun" {
  inherits = ["_agent"]
  target   = "cloudrun"
  tags     = ["magents/claude-agent:cloudrun"]
}
