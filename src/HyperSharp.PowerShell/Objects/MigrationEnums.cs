namespace HyperSharp.PowerShell;

/// <summary>
/// How live migrations authenticate (Set-VMHost -VirtualMachineMigrationAuthenticationType). Hyper-V's CredSSP (0) and
/// Kerberos (1) keep their values so scripts written for Hyper-V parse, and are refused with the reason; MutualTls is ours.
/// </summary>
public enum MigrationAuthenticationType { CredSSP = 0, Kerberos = 1, MutualTls = 100 }

/// <summary>How the live-migration stream travels (Set-VMHost -VirtualMachineMigrationPerformanceOption), Hyper-V's values.</summary>
public enum VMMigrationPerformance { TCPIP = 0, Compression = 1 }
