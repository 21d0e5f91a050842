// What the HTTP API answers, as far as the UI reads it (Consul's field names).

export interface Intention {
  ID: string;
  Description: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  Action: 'allow' | 'deny';
  Precedence: number;
  CreatedAt: string;
  UpdatedAt: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CaStatus {
  Role: 'primary' | 'secondary';
  ActiveRootID: string | null;
  Signing: boolean;
  Reason: string | null;
  SigningCertSerial: string | null;
  SigningCertRootID: string | null;
  SigningCertNotAfter: string | null;
  RenewAt: string | null;
  LastRenewalError: string | null;
  LeavesIssued?: number;
}

export interface Replication {
  Datacenter: string;
  Primary: string;
  AppliedIndex: number;
  SourceIndex: number;
  LagEvents: number;
  LastAppliedAt: string | null;
  MirrorActive: boolean;
  MirrorLastActiveMs: number | null;
  Halted: boolean;
  HaltReason: string | null;
  CA?: CaStatus;
}

export interface Peer {
  Datacenter: string;
  RTTMs: number | null;
  Reachable: boolean;
  LastSeenAt: string | null;
}

export interface Root {
  ID: string;
  Name: string;
  SerialNumber: number;
  NotBefore: string;
  NotAfter: string;
  Active: boolean;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
}

export interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Root[];
}

export interface Self {
  Config: { Datacenter: string; PrimaryDatacenter: string; NodeName: string };
}

export interface FeedEvent {
  seq: number;
  time: string;
  type: string;
  by: string;
  origin?: { dc: string; addr: string; req: string };
  data: Record<string, unknown>;
}
