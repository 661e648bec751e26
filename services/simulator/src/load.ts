// Load mode: filled in by the next step.
export {};
