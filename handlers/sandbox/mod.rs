//! A simulated Azure: the ARM, Resource Graph, Cost Management, Advisor, Monitor, Retail Prices and token endpoints AzCops calls, over a generated estate with ground truth.
