// The GradMix algorithm: layer-wise weights, mixing, the training step.
