//! Azure Resource Manager client and the connectors that read Azure (Resource Graph, Cost Management, Advisor, Monitor, Retail Prices).
