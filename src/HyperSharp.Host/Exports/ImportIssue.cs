namespace HyperSharp.Host.Exports;

/// <summary>What would stop an import (Hyper-V's VMCompatibilityReport lists these as its incompatibilities).</summary>
public enum ImportIssueKind { NewerVersion, IdInUse, NameInUse, SwitchMissing, MacInUse, DiskMissing, ParentMissing, StateMissing, BootFileMissing }

/// <summary>One incompatibility: its kind, what in the export it concerns, and the sentence Compare-VM shows and Import-VM refuses with.</summary>
public sealed record ImportIssue(ImportIssueKind Kind, string Source, string Message);
