// Ambient types for Svelte components and Vite asset imports.
/// <reference types="svelte" />
/// <reference types="vite/client" />
