//! Faithful emulators of Zocdoc's and Caspio's sandboxes, for tests, benchmarks and demo mode.
