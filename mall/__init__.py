"""What one tenant's MPP runs: its citizen portal (and, later, queue, applications, payments)."""
