// The test's Prometheus text parser has no types of its own.
declare module "parse-prometheus-text-format" {
  interface Metric {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export default function parse(text: string): { name: string; help: string; type: string; metrics: Metric[] }[];
}
