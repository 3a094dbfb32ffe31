# Specs of issue 15 that need no hosts: the migration cmdlets as a user meets them in pwsh, and host maintenance in the
# inventory. The moves themselves are proven on the lab by tests/Lab/MigrationLabTests.cs. Pester 6; see Common.ps1.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $inv = Join-Path ([IO.Path]::GetTempPath()) "vf-pester-migration-$PID/inventory.yml"
}

AfterAll {
    Remove-Item -Recurse -Force (Split-Path $inv) -ErrorAction SilentlyContinue
}

Describe 'Migration cmdlets' {
    It 'exports Test-VfMigration, Move-VfInstance and Invoke-VfRebalance with help and an example each' {
        foreach ($name in 'Test-VfMigration', 'Move-VfInstance', 'Invoke-VfRebalance') {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeLike "$name*" -Because 'a synopsis is written, not generated'
            @($help.Examples.Example).Count | Should -BeGreaterThan 0
        }
    }

    It 'lets Move-VfInstance and Invoke-VfRebalance show their plan with -WhatIf; Test-VfMigration changes nothing' {
        (Get-Command Move-VfInstance).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Invoke-VfRebalance).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Test-VfMigration).Parameters.Keys | Should -Not -Contain 'WhatIf'
        (Get-Command Test-VfMigration).Parameters.Keys | Should -Contain 'Quiet'
    }

    It 'binds Get-VfInstance output by property name (Name, Host)' {
        $p = (Get-Command Move-VfInstance).Parameters
        $p['Name'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipelineByPropertyName | Should -Contain $true
        $p['Host'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipelineByPropertyName | Should -Contain $true
    }

    It 'names an unknown destination host in a HostNotFound error before reading any host' {
        Add-VfHost -Name hv1 -Address 198.51.100.250 -Inventory $inv -Confirm:$false | Out-Null
        $err = $null
        Move-VfInstance web1 -Destination nosuchhost -Inventory $inv -ConnectTimeout 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HostNotFound,*'
        $err[0].Exception.Message | Should -Match 'nosuchhost'

    }
}

Describe 'Host maintenance' {
    It 'is written to the inventory only while on, and read back' {
        Add-VfHost -Name hv2 -Address 198.51.100.251 -Inventory $inv -Confirm:$false | Out-Null
        (Set-VfHost hv2 -Maintenance -Inventory $inv -Confirm:$false).Maintenance | Should -BeTrue
        Get-Content $inv -Raw | Should -Match 'maintenance: true'
        (Get-VfHost hv2 -Inventory $inv).Maintenance | Should -BeTrue
        (Set-VfHost hv2 -Maintenance:$false -Inventory $inv -Confirm:$false).Maintenance | Should -BeFalse
        Get-Content $inv -Raw | Should -Not -Match 'maintenance'
    }
}
