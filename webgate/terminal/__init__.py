"""Protocol-neutral terminal plumbing: the channel seam, the pump, taps and the one input gate."""
