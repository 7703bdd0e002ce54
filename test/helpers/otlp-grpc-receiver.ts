/**
 * A real OTLP/gRPC trace receiver for tests: a gRPC server (grpc-js, the library the OTel
 * gRPC exporter itself uses) on 127.0.0.1 serving `TraceService/Export`. Requests are counted
 * and their bytes kept, not decoded; each is answered with an empty
 * ExportTraceServiceResponse (full success), as a collector would.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const raw = (b: Buffer): Buffer => b;

export class OtlpGrpcReceiver {
  requests = 0;
  bytes = 0;
  url = '';
  private readonly server = new Server();

  async start(): Promise<this> {
    const service = {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    };
    this.server.addService(service, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        this.requests++;
        this.bytes += call.request.length;
        callback(null, Buffer.alloc(0));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
