//! Throwaway local PostgreSQL clusters (owned by the conformance-runner helper; see its prompt).
