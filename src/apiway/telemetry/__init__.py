"""What the gateway tells about itself: access and execution logs, metrics, traces, the services that serve them
(CloudWatch Logs and CloudWatch APIs, Prometheus text, the dashboard) and the observers compiled into stages."""
