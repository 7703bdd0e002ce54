/**
 * The autoscaling contract between the exporter and the deployment manifests: KEDA (and
 * the Knative autoscaler-keda extension) scale consumers on this Prometheus query, so the
 * exporter must serve this metric and the manifests must ask for exactly this.
 */

/** Gauge of waiting + prioritized + active chunks, labelled by `queue`. */
export const QUEUE_DEPTH_METRIC = 'batchinfer_queue_depth';

/** The query KEDA polls: chunks not finished yet on the chunk queue. */
export const SCALE_QUERY = `sum(${QUEUE_DEPTH_METRIC}{queue="chunks"})`;
