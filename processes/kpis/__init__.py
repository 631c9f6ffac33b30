"""The regulations' KPIs and complaint statistics, computed from a read model of the cases."""
